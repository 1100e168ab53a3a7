package v1alpha2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Runtime is the language runtime a Function runs on.
type Runtime string

// The supported runtimes.
const (
	RuntimeNodejs20  Runtime = "nodejs20"
	RuntimeNodejs22  Runtime = "nodejs22"
	RuntimeNodejs24  Runtime = "nodejs24"
	RuntimePython312 Runtime = "python312"
)

// Runtimes lists every supported runtime.
var Runtimes = []Runtime{RuntimeNodejs20, RuntimeNodejs22, RuntimeNodejs24, RuntimePython312}

// ReservedKeyPrefix is the prefix of labels and annotations that belong to Serverless.
const ReservedKeyPrefix = "serverless.kyma-project.io/"

// FunctionSpec is the desired state of a Function.
type FunctionSpec struct {
	// Runtime is the language runtime of the Function.
	// +kubebuilder:validation:Enum=nodejs20;nodejs22;nodejs24;python312
	Runtime Runtime `json:"runtime"`

	// RuntimeImageOverride replaces the runtime's default image. The image must follow the
	// runtime image contract of the chosen runtime.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	RuntimeImageOverride string `json:"runtimeImageOverride,omitempty"`

	// Source is the Function's code: inline or in a Git repository.
	Source Source `json:"source"`

	// Env are environment variables of the Function's container. Names that the runtimes
	// use themselves are reserved.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:XValidation:rule="self.all(e, !(e.name in ['FUNC_RUNTIME', 'FUNC_HANDLER', 'FUNC_PORT', 'FUNC_HANDLER_SOURCE', 'FUNC_HANDLER_DEPENDENCIES', 'MOD_NAME', 'NODE_PATH', 'PYTHONPATH']))",message="env must not set the reserved names FUNC_RUNTIME, FUNC_HANDLER, FUNC_PORT, FUNC_HANDLER_SOURCE, FUNC_HANDLER_DEPENDENCIES, MOD_NAME, NODE_PATH, PYTHONPATH"
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// ResourceConfiguration sets the resources of the Function's Pods and of its build Jobs.
	// +optional
	ResourceConfiguration *ResourceConfiguration `json:"resourceConfiguration,omitempty"`

	// Replicas is the number of Function Pods. With ScaleConfig, an autoscaler sets it.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// ScaleConfig turns on autoscaling of the Function's Pods on CPU utilization.
	// +optional
	ScaleConfig *ScaleConfig `json:"scaleConfig,omitempty"`

	// SecretMounts mounts Secrets of the Function's namespace into its container.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.exists_one(b, b.mountPath == a.mountPath))",message="secretMounts must not use the same mountPath twice"
	// +optional
	SecretMounts []SecretMount `json:"secretMounts,omitempty"`

	// Labels are added to the Function's Pods.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('serverless.kyma-project.io/'))",message="labels must not use the reserved prefix serverless.kyma-project.io/"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations are added to the Function's Pods.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('serverless.kyma-project.io/'))",message="annotations must not use the reserved prefix serverless.kyma-project.io/"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Source holds the Function's code. Exactly one of Inline and GitRepository is set.
// +kubebuilder:validation:XValidation:rule="has(self.inline) != has(self.gitRepository)",message="source must set exactly one of inline or gitRepository"
type Source struct {
	// Inline is code written into the Function itself.
	// +optional
	Inline *InlineSource `json:"inline,omitempty"`

	// GitRepository is code in a Git repository.
	// +optional
	GitRepository *GitRepositorySource `json:"gitRepository,omitempty"`
}

// InlineSource is code and dependencies written into the Function.
type InlineSource struct {
	// Source is the handler code: a module exporting main(event, context) for Node.js, or a
	// handler.py with main(event, context) for Python.
	// +kubebuilder:validation:XValidation:rule="self.trim() != ''",message="source.inline.source must not be empty"
	Source string `json:"source"`

	// Dependencies is the package.json (Node.js) or requirements.txt (Python) content.
	// +optional
	Dependencies string `json:"dependencies,omitempty"`
}

// GitRepositorySource is code in a Git repository.
type GitRepositorySource struct {
	// URL of the repository, for example https://github.com/kyma-project/serverless.git or
	// git@github.com:kyma-project/serverless.git for SSH keys.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.trim() != '' && !self.matches('[[:space:]]')",message="gitRepository.url must be a non-empty URL without whitespace"
	URL string `json:"url"`

	// Auth are the credentials for a private repository.
	// +optional
	Auth *RepositoryAuth `json:"auth,omitempty"`

	// BaseDir is the folder in the repository that holds the handler and its dependencies.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	BaseDir string `json:"baseDir,omitempty"`

	// Reference is the branch, tag or commit to use; the controller resolves it to a commit.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Reference string `json:"reference,omitempty"`
}

// RepositoryAuthType is how the controller authenticates to a Git repository.
type RepositoryAuthType string

const (
	// RepositoryAuthBasic uses the username and password (or token) keys of the Secret.
	RepositoryAuthBasic RepositoryAuthType = "basic"
	// RepositoryAuthSSHKey uses the key (and optional password) keys of the Secret.
	RepositoryAuthSSHKey RepositoryAuthType = "key"
)

// RepositoryAuth are the credentials for a Git repository.
type RepositoryAuth struct {
	// Type is basic (username and password or token) or key (SSH key).
	// +kubebuilder:validation:Enum=basic;key
	Type RepositoryAuthType `json:"type"`

	// SecretName names the Secret with the credentials, in the Function's namespace.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="auth.secretName must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	SecretName string `json:"secretName"`
}

// ResourceConfiguration sets the resources of the Function's Pods and build Jobs.
type ResourceConfiguration struct {
	// Function sets the resources of the Function's container.
	// +optional
	Function *FunctionResources `json:"function,omitempty"`

	// Build sets the resources of the build Job (build mode only).
	// +optional
	Build *BuildResources `json:"build,omitempty"`
}

// FunctionResources is a resource preset or explicit resources, exactly one of them.
// +kubebuilder:validation:XValidation:rule="has(self.profile) != has(self.resources)",message="resourceConfiguration.function must set exactly one of profile or resources"
type FunctionResources struct {
	// Profile is a resource preset of the Function's container.
	// +kubebuilder:validation:Enum=XS;S;M;L;XL
	// +optional
	Profile string `json:"profile,omitempty"`

	// Resources are explicit requests and limits of the Function's container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// BuildResources is a resource preset or explicit resources, exactly one of them.
// +kubebuilder:validation:XValidation:rule="has(self.profile) != has(self.resources)",message="resourceConfiguration.build must set exactly one of profile or resources"
type BuildResources struct {
	// Profile is a resource preset of the build Job.
	// +kubebuilder:validation:Enum=local-dev;slow;normal;fast
	// +optional
	Profile string `json:"profile,omitempty"`

	// Resources are explicit requests and limits of the build Job.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// ScaleConfig bounds the autoscaling of a Function.
// +kubebuilder:validation:XValidation:rule="self.minReplicas <= self.maxReplicas",message="scaleConfig.minReplicas must not be greater than scaleConfig.maxReplicas"
type ScaleConfig struct {
	// MinReplicas is the lowest number of Pods.
	// +kubebuilder:validation:Minimum=1
	MinReplicas *int32 `json:"minReplicas"`

	// MaxReplicas is the highest number of Pods.
	// +kubebuilder:validation:Minimum=1
	MaxReplicas *int32 `json:"maxReplicas"`
}

// SecretMount mounts a Secret into the Function's container.
type SecretMount struct {
	// SecretName names a Secret in the Function's namespace.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="secretMounts.secretName must be a valid Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	SecretName string `json:"secretName"`

	// MountPath is the absolute path of the mounted folder.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/') && !self.contains(':')",message="secretMounts.mountPath must be an absolute path without ':'"
	MountPath string `json:"mountPath"`
}

// FunctionStatus is the observed state of a Function.
type FunctionStatus struct {
	// Conditions are ConfigurationReady, BuildReady (build mode) and Running.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Runtime is the runtime of the running Function.
	// +optional
	Runtime Runtime `json:"runtime,omitempty"`

	// RuntimeImage is the image the Function's Pods run (or were built from).
	// +optional
	RuntimeImage string `json:"runtimeImage,omitempty"`

	// Replicas is the number of non-terminated Pods of the Function (scale subresource).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// PodSelector is the label selector of the Function's Pods (scale subresource).
	// +optional
	PodSelector string `json:"podSelector,omitempty"`

	// ObservedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Commit is the Git commit the Function runs, resolved from its reference.
	// +optional
	Commit string `json:"commit,omitempty"`

	// BaseDir is the repository folder the Function runs from.
	// +optional
	BaseDir string `json:"baseDir,omitempty"`

	// Reference is the Git reference the commit was resolved from.
	// +optional
	Reference string `json:"reference,omitempty"`
}

// Function is a piece of code that Serverless runs as a Deployment with a Service.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName={fn,fns}
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.podSelector
// +kubebuilder:printcolumn:name="Configured",type="string",JSONPath=".status.conditions[?(@.type=='ConfigurationReady')].status"
// +kubebuilder:printcolumn:name="Running",type="string",JSONPath=".status.conditions[?(@.type=='Running')].status"
// +kubebuilder:printcolumn:name="Runtime",type="string",JSONPath=".spec.runtime"
// +kubebuilder:printcolumn:name="Version",type="integer",JSONPath=".metadata.generation"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type Function struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec FunctionSpec `json:"spec"`
	// +optional
	Status FunctionStatus `json:"status,omitempty"`
}

// FunctionList is a list of Functions.
//
// +kubebuilder:object:root=true
type FunctionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Function `json:"items"`
}

func init() {
	register(&Function{}, &FunctionList{})
}
