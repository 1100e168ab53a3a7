package serverless

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/internal/installer"
)

const maxObjectsInMessage = 3

// writeStatus publishes the effective configuration.
func (c effectiveConfig) writeStatus(st *operatorv1alpha1.ServerlessStatus) {
	st.BuildlessMode = c.BuildlessMode
	st.TracingEndpoint = c.TracingEndpoint
	st.EventingEndpoint = c.EventingEndpoint
	st.DockerRegistry = c.registryDescription()
	st.TargetCPUUtilizationPercentage = c.TargetCPUUtilizationPercentage
	st.FunctionRequeueDuration = c.FunctionRequeueDuration
	st.FunctionBuildExecutorArgs = c.FunctionBuildExecutorArgs
	st.FunctionBuildMaxSimultaneousJobs = c.FunctionBuildMaxSimultaneousJobs
	st.HealthzLivenessTimeout = c.HealthzLivenessTimeout
	st.DefaultBuildJobPreset = c.DefaultBuildJobPreset
	st.DefaultRuntimePodPreset = c.DefaultRuntimePodPreset
	st.LogLevel = c.LogLevel
	st.LogFormat = c.LogFormat
	st.NetworkPoliciesEnabled = "False"
	if c.EnableNetworkPolicies {
		st.NetworkPoliciesEnabled = "True"
	}
}

// registryDescription says which registry build mode pushes to; buildless
// mode needs none.
func (c effectiveConfig) registryDescription() string {
	switch {
	case c.BuildlessMode == modeEnabled:
		return "not used in buildless mode"
	case c.RegistrySecretName != "":
		return "external registry from Secret " + c.RegistrySecretName
	case c.EnableInternalRegistry:
		return "internal registry (DockerRegistry module)"
	default:
		return "DockerRegistry module"
	}
}

func equalStatus(a, b operatorv1alpha1.ServerlessStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// describe lists the first few objects with their status for a condition message.
func describe(objs []installer.ObjectStatus) string {
	parts := make([]string, 0, maxObjectsInMessage)
	for i, o := range objs {
		if i == maxObjectsInMessage {
			parts = append(parts, fmt.Sprintf("and %d more", len(objs)-maxObjectsInMessage))
			break
		}
		part := fmt.Sprintf("%s (%s)", o.Ref, o.Status)
		if o.Message != "" {
			part = fmt.Sprintf("%s (%s: %s)", o.Ref, o.Status, o.Message)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

func isNotFoundResource(err error) bool { return apierrors.IsNotFound(err) }
