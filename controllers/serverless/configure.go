package serverless

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

// Defaults applied when the Serverless spec leaves a field empty. They match
// the documented defaults of Kyma Serverless so existing manifests behave the same.
const (
	defaultLogLevel               = "info"
	defaultLogFormat              = "json"
	defaultRequeueDuration        = "5m"
	defaultHealthzLivenessTimeout = "10s"
	defaultTargetCPUUtilization   = "50"
	defaultMaxSimultaneousJobs    = "5"
	defaultBuildJobPreset         = "normal"
	defaultRuntimePodPreset       = "L"
	defaultEventingEndpoint       = "http://eventing-publisher-proxy.kyma-system.svc.cluster.local/publish"
	defaultBuildExecutorArgs      = "--insecure,--skip-tls-verify,--skip-unused-stages,--log-format=text,--cache=true,--compressed-caching=false"
	tracingServiceName            = "telemetry-otlp-traces"
	tracingServiceNamespace       = "kyma-system"
	tracingEndpointTemplate       = "http://%s.%s.svc.cluster.local:4318/v1/traces"
	modeEnabled                   = operatorv1alpha1.BuildlessModeEnabled
	modeDisabled                  = operatorv1alpha1.BuildlessModeDisabled
	imageEnvFunctionController    = "IMAGE_FUNCTION_CONTROLLER"
	imageEnvGitFetcher            = "IMAGE_FUNCTION_GIT_FETCHER"
	imageEnvKaniko                = "IMAGE_FUNCTION_BUILD_EXECUTOR"
	imageEnvRuntimePrefix         = "IMAGE_FUNCTION_RUNTIME_"
	invalidModeMessageFormat      = "annotation %s has the invalid value %q: allowed values are %q and %q; keeping buildless mode %q"
)

// runtimes lists the runtimes whose images the operator may override.
var runtimes = []string{"nodejs20", "nodejs22", "nodejs24", "python312"}

// desiredMode decides the buildless mode from the annotation. An unknown value
// never flips the mode: the current effective mode is kept and a message explains why.
func desiredMode(annotations map[string]string, current string) (mode string, problem string) {
	if current == "" {
		current = modeEnabled
	}
	value, set := annotations[operatorv1alpha1.BuildlessModeAnnotation]
	switch {
	case !set:
		return modeEnabled, ""
	case value == modeEnabled || value == modeDisabled:
		return value, ""
	default:
		return current, fmt.Sprintf(invalidModeMessageFormat, operatorv1alpha1.BuildlessModeAnnotation, value, modeEnabled, modeDisabled, current)
	}
}

// effectiveConfig is the spec with defaults applied. It is both written to
// status and turned into chart values, so the two can never disagree.
type effectiveConfig struct {
	BuildlessMode                    string
	TracingEndpoint                  string
	EventingEndpoint                 string
	EnableInternalRegistry           bool
	RegistrySecretName               string
	TargetCPUUtilizationPercentage   string
	FunctionRequeueDuration          string
	FunctionBuildExecutorArgs        string
	FunctionBuildMaxSimultaneousJobs string
	HealthzLivenessTimeout           string
	DefaultBuildJobPreset            string
	DefaultRuntimePodPreset          string
	LogLevel                         string
	LogFormat                        string
	EnableNetworkPolicies            bool
}

// resolveConfig applies defaults to the spec. detectedTracing is the endpoint
// found in the cluster, used only when the spec has no tracing section.
func resolveConfig(spec operatorv1alpha1.ServerlessSpec, mode, detectedTracing string) effectiveConfig {
	cfg := effectiveConfig{
		BuildlessMode:                    mode,
		TracingEndpoint:                  detectedTracing,
		EventingEndpoint:                 defaultEventingEndpoint,
		TargetCPUUtilizationPercentage:   or(spec.TargetCPUUtilizationPercentage, defaultTargetCPUUtilization),
		FunctionRequeueDuration:          or(spec.FunctionRequeueDuration, defaultRequeueDuration),
		FunctionBuildExecutorArgs:        or(spec.FunctionBuildExecutorArgs, defaultBuildExecutorArgs),
		FunctionBuildMaxSimultaneousJobs: or(spec.FunctionBuildMaxSimultaneousJobs, defaultMaxSimultaneousJobs),
		HealthzLivenessTimeout:           or(spec.HealthzLivenessTimeout, defaultHealthzLivenessTimeout),
		DefaultBuildJobPreset:            or(spec.DefaultBuildJobPreset, defaultBuildJobPreset),
		DefaultRuntimePodPreset:          or(spec.DefaultRuntimePodPreset, defaultRuntimePodPreset),
		LogLevel:                         or(spec.LogLevel, defaultLogLevel),
		LogFormat:                        or(spec.LogFormat, defaultLogFormat),
		EnableNetworkPolicies:            spec.EnableNetworkPolicies,
	}
	// A given endpoint, even an empty one (feature off), wins over defaults and detection.
	if spec.Tracing != nil {
		cfg.TracingEndpoint = spec.Tracing.Endpoint
	}
	if spec.Eventing != nil {
		cfg.EventingEndpoint = spec.Eventing.Endpoint
	}
	if spec.DockerRegistry != nil {
		if spec.DockerRegistry.EnableInternal != nil {
			cfg.EnableInternalRegistry = *spec.DockerRegistry.EnableInternal
		}
		if spec.DockerRegistry.SecretName != nil {
			cfg.RegistrySecretName = *spec.DockerRegistry.SecretName
		}
	}
	return cfg
}

// values turns the effective configuration into chart values. Image overrides
// come from the operator's own environment, so a new operator release (or a
// Kyma lifecycle manager patch) can move images without touching the CR.
func (c effectiveConfig) values(getenv func(string) string) (map[string]any, error) {
	cpu, err := strconv.Atoi(c.TargetCPUUtilizationPercentage)
	if err != nil {
		return nil, fmt.Errorf("targetCPUUtilizationPercentage %q is not an integer", c.TargetCPUUtilizationPercentage)
	}
	jobs, err := strconv.Atoi(c.FunctionBuildMaxSimultaneousJobs)
	if err != nil {
		return nil, fmt.Errorf("functionBuildMaxSimultaneousJobs %q is not an integer", c.FunctionBuildMaxSimultaneousJobs)
	}
	values := map[string]any{
		"buildless": c.BuildlessMode == modeEnabled,
		"logging":   map[string]any{"level": c.LogLevel, "format": c.LogFormat},
		"function": map[string]any{
			"requeueDuration":                c.FunctionRequeueDuration,
			"healthzLivenessTimeout":         c.HealthzLivenessTimeout,
			"targetCPUUtilizationPercentage": cpu,
			"defaultPreset":                  c.DefaultRuntimePodPreset,
		},
		"build": map[string]any{
			"maxSimultaneousJobs": jobs,
			"executorArgs":        splitArgs(c.FunctionBuildExecutorArgs),
			"defaultPreset":       c.DefaultBuildJobPreset,
		},
		"registry": map[string]any{
			"enableInternal": c.EnableInternalRegistry,
			"secretName":     c.RegistrySecretName,
		},
		"tracing":         map[string]any{"endpoint": c.TracingEndpoint},
		"eventing":        map[string]any{"endpoint": c.EventingEndpoint},
		"networkPolicies": map[string]any{"enabled": c.EnableNetworkPolicies},
	}
	if images := imageOverrides(getenv); len(images) > 0 {
		values["images"] = images
	}
	return values, nil
}

func imageOverrides(getenv func(string) string) map[string]any {
	if getenv == nil {
		getenv = os.Getenv
	}
	images := map[string]any{}
	for key, env := range map[string]string{
		"functionController": imageEnvFunctionController,
		"gitFetcher":         imageEnvGitFetcher,
		"kaniko":             imageEnvKaniko,
	} {
		if v := getenv(env); v != "" {
			images[key] = v
		}
	}
	rt := map[string]any{}
	for _, name := range runtimes {
		if v := getenv(imageEnvRuntimePrefix + strings.ToUpper(name)); v != "" {
			rt[name] = v
		}
	}
	if len(rt) > 0 {
		images["runtimes"] = rt
	}
	return images
}

func splitArgs(s string) []any {
	var out []any
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
