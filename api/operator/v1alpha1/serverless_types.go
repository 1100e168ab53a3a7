package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServerlessSpec is the configuration of the Serverless module. Every field is optional:
// an empty spec installs the module with its defaults (shown in the status once applied).
// Numbers and durations are strings for compatibility with existing Serverless resources.
type ServerlessSpec struct {
	// Tracing overrides the endpoint Functions send their traces to.
	// +optional
	Tracing *Endpoint `json:"tracing,omitempty"`

	// Eventing overrides the endpoint Functions publish events to.
	// +optional
	Eventing *Endpoint `json:"eventing,omitempty"`

	// DockerRegistry selects the registry that build mode pushes Function images to.
	// It has no effect in buildless mode.
	// +optional
	DockerRegistry *DockerRegistryConfig `json:"dockerRegistry,omitempty"`

	// TargetCPUUtilizationPercentage is the CPU utilization (1-100) that the autoscaler of a
	// Function with scaleConfig aims at, written as a string, for example "50".
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^([1-9][0-9]?|100)$')",message="targetCPUUtilizationPercentage must be a whole number from 1 to 100 written as a string, for example '50'"
	// +optional
	TargetCPUUtilizationPercentage string `json:"targetCPUUtilizationPercentage,omitempty"`

	// FunctionRequeueDuration is how often every Function is reconciled even without a change,
	// as a duration such as "5m".
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="size(self) <= 20 && self.matches('^([0-9]{1,6}([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="functionRequeueDuration must be a positive duration such as 5m, 30s or 1h30m"
	// +optional
	FunctionRequeueDuration string `json:"functionRequeueDuration,omitempty"`

	// FunctionBuildExecutorArgs are the arguments of the image build executor in build mode,
	// separated by commas, for example "--insecure,--skip-tls-verify,--cache=true".
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	FunctionBuildExecutorArgs string `json:"functionBuildExecutorArgs,omitempty"`

	// FunctionBuildMaxSimultaneousJobs is the number of image builds that may run at the same
	// time in build mode, written as a string, for example "5".
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]{0,5}$')",message="functionBuildMaxSimultaneousJobs must be a whole number from 1 to 999999 written as a string, for example '5'"
	// +optional
	FunctionBuildMaxSimultaneousJobs string `json:"functionBuildMaxSimultaneousJobs,omitempty"`

	// HealthzLivenessTimeout is how long the liveness check of the Function controller waits
	// for the controller to answer before it reports a failure, as a duration such as "10s".
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="size(self) <= 20 && self.matches('^([0-9]{1,6}([.][0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) > duration('0s')",message="healthzLivenessTimeout must be a positive duration such as 10s, 500ms or 1m"
	// +optional
	HealthzLivenessTimeout string `json:"healthzLivenessTimeout,omitempty"`

	// DefaultBuildJobPreset is the resource preset of build Jobs whose Function sets none.
	// +kubebuilder:validation:Enum=local-dev;slow;normal;fast
	// +optional
	DefaultBuildJobPreset string `json:"defaultBuildJobPreset,omitempty"`

	// DefaultRuntimePodPreset is the resource preset of Function Pods whose Function sets none.
	// +kubebuilder:validation:Enum=XS;S;M;L;XL
	// +optional
	DefaultRuntimePodPreset string `json:"defaultRuntimePodPreset,omitempty"`

	// LogLevel is the log level of the Function controller.
	// +kubebuilder:validation:Enum=debug;info;warn;error;panic;fatal
	// +optional
	LogLevel string `json:"logLevel,omitempty"`

	// LogFormat is the log format of the Function controller.
	// +kubebuilder:validation:Enum=json;console
	// +optional
	LogFormat string `json:"logFormat,omitempty"`

	// EnableNetworkPolicies installs NetworkPolicies that allow the module's essential
	// in-cluster traffic, for clusters that deny traffic by default.
	// +optional
	EnableNetworkPolicies bool `json:"enableNetworkPolicies,omitempty"`
}

// Endpoint is an in-cluster or external HTTP endpoint.
type Endpoint struct {
	// Endpoint is an http or https URL. An empty string turns the feature off.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self == '' || (isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != '')",message="endpoint must be empty or an http(s) URL with a host, for example http://telemetry-otlp-traces.kyma-system.svc.cluster.local:4318/v1/traces"
	Endpoint string `json:"endpoint"`
}

// DockerRegistryConfig selects the registry used in build mode.
type DockerRegistryConfig struct {
	// EnableInternal uses the in-cluster registry of the DockerRegistry module.
	// When true, SecretName is ignored.
	// +optional
	EnableInternal *bool `json:"enableInternal,omitempty"`

	// SecretName names a Secret in the module's namespace that describes an external
	// registry: a .dockerconfigjson key with the credentials and the registry addresses.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="secretName must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	// +optional
	SecretName *string `json:"secretName,omitempty"`
}

// ServerlessStatus is the observed state of the Serverless module and the configuration in
// effect: the spec with every default applied.
type ServerlessStatus struct {
	// State is the Kyma module state: Ready, Processing, Warning, Error or Deleting.
	// +kubebuilder:validation:Enum=Ready;Processing;Warning;Error;Deleting
	// +optional
	State string `json:"state,omitempty"`

	// Served is True for the one Serverless resource the operator manages, False for any other.
	// +kubebuilder:validation:Enum=True;False
	Served string `json:"served"`

	// Conditions are Configured, Installed, Deleted and DeploymentFailure.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// BuildlessMode is "enabled" when Functions run without an image build, "disabled" in build mode.
	// +kubebuilder:validation:Enum=enabled;disabled
	// +optional
	BuildlessMode string `json:"buildlessMode,omitempty"`

	// ChartVersion is the version of the installed module chart.
	// +optional
	ChartVersion string `json:"chartVersion,omitempty"`

	// TracingEndpoint is the trace endpoint in use ("" when tracing is off).
	// +optional
	TracingEndpoint string `json:"tracingEndpoint,omitempty"`

	// EventingEndpoint is the event publishing endpoint in use.
	// +optional
	EventingEndpoint string `json:"eventingEndpoint,omitempty"`

	// DockerRegistry is the registry used in build mode: "internal" for the in-cluster
	// registry, otherwise the address of the external registry. Empty in buildless mode.
	// +optional
	DockerRegistry string `json:"dockerRegistry,omitempty"`

	// TargetCPUUtilizationPercentage in use.
	// +optional
	TargetCPUUtilizationPercentage string `json:"targetCPUUtilizationPercentage,omitempty"`

	// FunctionRequeueDuration in use.
	// +optional
	FunctionRequeueDuration string `json:"functionRequeueDuration,omitempty"`

	// FunctionBuildExecutorArgs in use.
	// +optional
	FunctionBuildExecutorArgs string `json:"functionBuildExecutorArgs,omitempty"`

	// FunctionBuildMaxSimultaneousJobs in use.
	// +optional
	FunctionBuildMaxSimultaneousJobs string `json:"functionBuildMaxSimultaneousJobs,omitempty"`

	// HealthzLivenessTimeout in use.
	// +optional
	HealthzLivenessTimeout string `json:"healthzLivenessTimeout,omitempty"`

	// DefaultBuildJobPreset in use.
	// +optional
	DefaultBuildJobPreset string `json:"defaultBuildJobPreset,omitempty"`

	// DefaultRuntimePodPreset in use.
	// +optional
	DefaultRuntimePodPreset string `json:"defaultRuntimePodPreset,omitempty"`

	// LogLevel in use.
	// +optional
	LogLevel string `json:"logLevel,omitempty"`

	// LogFormat in use.
	// +optional
	LogFormat string `json:"logFormat,omitempty"`

	// NetworkPoliciesEnabled is "True" when the module's NetworkPolicies are installed.
	// +kubebuilder:validation:Enum=True;False
	// +optional
	NetworkPoliciesEnabled string `json:"networkPoliciesEnabled,omitempty"`
}

// Serverless configures and installs the Serverless module. The operator serves one
// Serverless resource per cluster, usually kyma-system/default.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={kyma-modules,kyma-serverless}
// +kubebuilder:printcolumn:name="Configured",type="string",JSONPath=".status.conditions[?(@.type=='Configured')].status"
// +kubebuilder:printcolumn:name="Installed",type="string",JSONPath=".status.conditions[?(@.type=='Installed')].status"
// +kubebuilder:printcolumn:name="generation",type="integer",JSONPath=".metadata.generation"
// +kubebuilder:printcolumn:name="age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="state",type="string",JSONPath=".status.state"
type Serverless struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ServerlessSpec `json:"spec,omitempty"`
	// +optional
	Status ServerlessStatus `json:"status,omitempty"`
}

// ServerlessList is a list of Serverless resources.
//
// +kubebuilder:object:root=true
type ServerlessList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Serverless `json:"items"`
}

func init() {
	register(&Serverless{}, &ServerlessList{})
}
