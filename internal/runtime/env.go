package runtime

import (
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// FunctionMeta is what the runtime environment needs to know about a
// Function.
type FunctionMeta struct {
	// Name of the Function.
	Name string
	// Namespace of the Function. When empty, SERVICE_NAMESPACE is taken
	// from the Pod's own namespace through the downward API.
	Namespace string
	// TraceCollectorEndpoint is the OTLP endpoint the runtimes send traces
	// to; empty disables tracing.
	TraceCollectorEndpoint string
	// PublisherProxyAddress is the Eventing publisher proxy the runtimes'
	// event API posts to; empty leaves it unset.
	PublisherProxyAddress string
}

// reservedEnv are the names a user may not set in Function.spec.env,
// because the platform sets them or the runtime depends on them.
var reservedEnv = []string{
	"FUNC_RUNTIME", "FUNC_HANDLER", "FUNC_PORT", "FUNC_HANDLER_SOURCE",
	"FUNC_HANDLER_DEPENDENCIES", "MOD_NAME", "NODE_PATH", "PYTHONPATH",
}

// ReservedEnvNames returns the environment variable names a user may not set
// on a Function.
func ReservedEnvNames() []string { return slices.Clone(reservedEnv) }

// IsReservedEnv reports whether name is one of ReservedEnvNames.
func IsReservedEnv(name string) bool { return slices.Contains(reservedEnv, name) }

// Env returns the environment the runtime server reads:
//
//   - FUNC_NAME, FUNC_RUNTIME, SERVICE_NAMESPACE;
//   - TRACE_COLLECTOR_ENDPOINT and PUBLISHER_PROXY_ADDRESS when set in fn;
//   - FUNC_HANDLER (the exported function, "main"), MOD_NAME (the handler
//     module, "handler") and FUNC_PORT (8080);
//   - Node.js: HANDLER_PATH, the handler relative to the server directory
//     ("./function/handler.js");
//   - Python: PYTHONUNBUFFERED, so that the Function's logs are not held
//     back in a buffer.
//
// Kubernetes lets a later entry with the same name win, so a caller that
// merges user variables should put these after them (user variables with
// reserved names should be rejected earlier, see IsReservedEnv).
func (r Runtime) Env(fn FunctionMeta) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "FUNC_NAME", Value: fn.Name},
		{Name: "FUNC_RUNTIME", Value: r.Name},
	}
	if fn.Namespace != "" {
		env = append(env, corev1.EnvVar{Name: "SERVICE_NAMESPACE", Value: fn.Namespace})
	} else {
		env = append(env, corev1.EnvVar{
			Name: "SERVICE_NAMESPACE",
			ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			},
		})
	}
	if fn.TraceCollectorEndpoint != "" {
		env = append(env, corev1.EnvVar{Name: "TRACE_COLLECTOR_ENDPOINT", Value: fn.TraceCollectorEndpoint})
	}
	if fn.PublisherProxyAddress != "" {
		env = append(env, corev1.EnvVar{Name: "PUBLISHER_PROXY_ADDRESS", Value: fn.PublisherProxyAddress})
	}
	env = append(env,
		corev1.EnvVar{Name: "FUNC_HANDLER", Value: "main"},
		corev1.EnvVar{Name: "MOD_NAME", Value: "handler"},
		corev1.EnvVar{Name: "FUNC_PORT", Value: strconv.Itoa(Port)},
	)
	switch r.Language {
	case LanguageNodeJS:
		env = append(env, corev1.EnvVar{Name: "HANDLER_PATH", Value: r.handlerPath()})
	case LanguagePython:
		env = append(env, corev1.EnvVar{Name: "PYTHONUNBUFFERED", Value: "TRUE"})
	}
	return env
}
