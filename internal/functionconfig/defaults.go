package functionconfig

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Default values of the keys of the configuration.
const (
	DefaultMode                           = ModeBuildless
	DefaultLogLevel                       = "info"
	DefaultLogFormat                      = "json"
	DefaultRequeueDuration                = 5 * time.Minute
	DefaultHealthzLivenessTimeout         = 10 * time.Second
	DefaultTargetCPUUtilizationPercentage = 50
	DefaultEventingEndpoint               = "http://eventing-publisher-proxy.kyma-system.svc.cluster.local/publish"
	DefaultRuntimePreset                  = "L"
	DefaultBuildPreset                    = "normal"
	DefaultMaxSimultaneousJobs            = 5
	DefaultDockerfileConfigMapPrefix      = "dockerfile-"
)

// RuntimePresetNames are the Function presets the Function API accepts; each must be defined.
var RuntimePresetNames = []string{"XS", "S", "M", "L", "XL"}

// BuildPresetNames are the build presets the Function API accepts; each must be defined.
var BuildPresetNames = []string{"local-dev", "slow", "normal", "fast"}

// DefaultExecutorArgs are the image builder's arguments when the configuration sets none.
func DefaultExecutorArgs() []string {
	return []string{"--insecure", "--skip-tls-verify", "--skip-unused-stages", "--log-format=text", "--cache=true", "--compressed-caching=false"}
}

// DefaultRuntimePresets are Kyma's resource presets of Function containers.
func DefaultRuntimePresets() map[string]Preset {
	return map[string]Preset{
		"XS": preset("50m", "64Mi", "150m", "192Mi"),
		"S":  preset("100m", "128Mi", "200m", "256Mi"),
		"M":  preset("200m", "256Mi", "400m", "512Mi"),
		"L":  preset("400m", "512Mi", "800m", "1024Mi"),
		"XL": preset("800m", "1024Mi", "1600m", "2048Mi"),
	}
}

// DefaultBuildPresets are Kyma's resource presets of build Jobs.
func DefaultBuildPresets() map[string]Preset {
	return map[string]Preset{
		"local-dev": preset("100m", "200Mi", "200m", "400Mi"),
		"slow":      preset("200m", "200Mi", "700m", "700Mi"),
		"normal":    preset("700m", "700Mi", "1100m", "1100Mi"),
		"fast":      preset("1100m", "1100Mi", "1700m", "1700Mi"),
	}
}

// Default returns the configuration with every default applied and no images.
func Default() *Config {
	return &Config{
		Mode:                           DefaultMode,
		LogLevel:                       DefaultLogLevel,
		LogFormat:                      DefaultLogFormat,
		RequeueDuration:                metav1.Duration{Duration: DefaultRequeueDuration},
		HealthzLivenessTimeout:         metav1.Duration{Duration: DefaultHealthzLivenessTimeout},
		TargetCPUUtilizationPercentage: DefaultTargetCPUUtilizationPercentage,
		EventingEndpoint:               DefaultEventingEndpoint,
		RuntimeImages:                  map[string]string{},
		RuntimePresets:                 Presets{Default: DefaultRuntimePreset, Presets: DefaultRuntimePresets()},
		Build: Build{
			ExecutorArgs:              DefaultExecutorArgs(),
			MaxSimultaneousJobs:       DefaultMaxSimultaneousJobs,
			Presets:                   Presets{Default: DefaultBuildPreset, Presets: DefaultBuildPresets()},
			DockerfileConfigMapPrefix: DefaultDockerfileConfigMapPrefix,
		},
	}
}

func preset(reqCPU, reqMemory, limCPU, limMemory string) Preset {
	return Preset{
		Requests: Resources{CPU: resource.MustParse(reqCPU), Memory: resource.MustParse(reqMemory)},
		Limits:   Resources{CPU: resource.MustParse(limCPU), Memory: resource.MustParse(limMemory)},
	}
}
