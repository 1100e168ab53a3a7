// Package functionconfig is the configuration of the Function controller.
//
// The Serverless chart renders it into the ConfigMap serverless-function-config (key
// config.yaml) in the module's namespace; the controller watches that ConfigMap and parses
// it with Parse. Every key is optional except the images: Parse fills in the defaults and
// refuses values the controller cannot work with, naming each offending key.
package functionconfig

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Where the configuration is stored.
const (
	// ConfigMapName is the ConfigMap holding the configuration, in the module's namespace.
	ConfigMapName = "serverless-function-config"
	// ConfigMapKey is the ConfigMap key holding the configuration YAML.
	ConfigMapKey = "config.yaml"
)

// The contract of build mode with the objects the chart installs.
const (
	// RegistrySecretDockerConfigKey holds the registry credentials in the registry Secret.
	RegistrySecretDockerConfigKey = corev1.DockerConfigJsonKey
	// RegistrySecretPushAddressKey holds the address build Jobs push images to.
	RegistrySecretPushAddressKey = "pushRegistryAddress"
	// RegistrySecretPullAddressKey holds the address nodes pull Function images from.
	RegistrySecretPullAddressKey = "pullRegistryAddress"

	// DockerfileKey is the key of the Dockerfile in a Dockerfile ConfigMap.
	DockerfileKey = "Dockerfile"
	// ConfigLabel marks the configuration objects of the chart; on a Dockerfile
	// ConfigMap its value is ConfigLabelRuntime.
	ConfigLabel = "serverless.kyma-project.io/config"
	// ConfigLabelRuntime is the value of ConfigLabel on Dockerfile ConfigMaps.
	ConfigLabelRuntime = "runtime"
	// RuntimeLabel names the runtime of a Dockerfile ConfigMap.
	RuntimeLabel = "serverless.kyma-project.io/runtime"
)

// Mode is how Functions are run.
type Mode string

const (
	// ModeBuildless runs Functions on the runtime images, with the code injected at Pod start.
	ModeBuildless Mode = "buildless"
	// ModeBuild builds an image per Function and pushes it to a registry.
	ModeBuild Mode = "build"
)

// Config is the configuration of the Function controller.
type Config struct {
	// Mode is buildless (default) or build.
	Mode Mode `json:"mode"`
	// LogLevel is debug, info (default), warn, error, panic or fatal.
	LogLevel string `json:"logLevel"`
	// LogFormat is json (default) or console.
	LogFormat string `json:"logFormat"`
	// RequeueDuration is how often every Function is reconciled without a change (default 5m).
	RequeueDuration metav1.Duration `json:"requeueDuration"`
	// HealthzLivenessTimeout is how long the liveness check waits for the controller
	// (default 10s).
	HealthzLivenessTimeout metav1.Duration `json:"healthzLivenessTimeout"`
	// TargetCPUUtilizationPercentage is the autoscaling target of Functions with scaleConfig
	// (1-100, default 50).
	TargetCPUUtilizationPercentage int32 `json:"targetCPUUtilizationPercentage"`
	// TracingEndpoint is where Functions send traces; empty turns tracing off (default).
	TracingEndpoint string `json:"tracingEndpoint"`
	// EventingEndpoint is where Functions publish events; empty turns it off.
	EventingEndpoint string `json:"eventingEndpoint"`
	// RuntimeImages maps every runtime (nodejs20, nodejs22, nodejs24, python312) to its image.
	RuntimeImages map[string]string `json:"runtimeImages"`
	// GitFetcherImage is the image of the init container that fetches Git sources.
	GitFetcherImage string `json:"gitFetcherImage"`
	// RuntimePresets are the resource presets of Function containers (XS to XL, default L).
	RuntimePresets Presets `json:"runtimePresets"`
	// Build is the configuration of build mode; ignored in buildless mode.
	Build Build `json:"build"`
}

// Build is the configuration of build mode.
type Build struct {
	// ExecutorImage is the image builder (Kaniko) image.
	ExecutorImage string `json:"executorImage"`
	// ExecutorArgs are the arguments of the image builder.
	ExecutorArgs []string `json:"executorArgs"`
	// MaxSimultaneousJobs is how many build Jobs may run at once (default 5).
	MaxSimultaneousJobs int `json:"maxSimultaneousJobs"`
	// Presets are the resource presets of build Jobs (local-dev to fast, default normal).
	Presets Presets `json:"presets"`
	// RegistrySecretName names the Secret, in the module's namespace, with the registry
	// credentials (.dockerconfigjson) and addresses (pushRegistryAddress, pullRegistryAddress).
	RegistrySecretName string `json:"registrySecretName"`
	// DockerfileConfigMapPrefix is the name prefix of the Dockerfile ConfigMaps: one per
	// runtime, named <prefix><runtime>, key Dockerfile (default "dockerfile-").
	DockerfileConfigMapPrefix string `json:"dockerfileConfigMapPrefix"`
}

// Presets are named resource presets and the one used when a Function names none.
type Presets struct {
	// Default names the preset used when a Function sets no resources.
	Default string `json:"default"`
	// Presets by name. Entries given in the configuration replace or add to the defaults.
	Presets map[string]Preset `json:"presets"`
}

// Preset is the requests and limits of a container.
type Preset struct {
	Requests Resources `json:"requests"`
	Limits   Resources `json:"limits"`
}

// Resources is an amount of CPU and memory.
type Resources struct {
	CPU    resource.Quantity `json:"cpu"`
	Memory resource.Quantity `json:"memory"`
}

// Get returns the named preset, or the default preset when name is empty.
func (p Presets) Get(name string) (Preset, bool) {
	if name == "" {
		name = p.Default
	}
	preset, ok := p.Presets[name]
	return preset, ok
}

// ResourceRequirements turns the preset into container resources.
func (p Preset) ResourceRequirements() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: p.Requests.CPU, corev1.ResourceMemory: p.Requests.Memory},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: p.Limits.CPU, corev1.ResourceMemory: p.Limits.Memory},
	}
}

// RuntimeImage returns the configured image of a runtime.
func (c *Config) RuntimeImage(runtime string) (string, bool) {
	image, ok := c.RuntimeImages[runtime]
	return image, ok && image != ""
}

// DockerfileConfigMapName is the name of the Dockerfile ConfigMap of a runtime (build mode).
func (c *Config) DockerfileConfigMapName(runtime string) string {
	return c.Build.DockerfileConfigMapPrefix + runtime
}
