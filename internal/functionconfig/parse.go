package functionconfig

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

var (
	logLevels  = []string{"debug", "info", "warn", "error", "panic", "fatal"}
	logFormats = []string{"json", "console"}
)

// Parse reads the configuration YAML, applies the defaults to every key it leaves out and
// validates the result. Unknown keys are refused, so that a misspelt key is not silently
// ignored. The error lists every problem, each with the key it concerns.
func Parse(data []byte) (*Config, error) {
	raw := map[string]any{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("invalid function configuration: %w", err)
	}
	// Durations and quantities report parse errors without the key; check them first.
	if errs := checkScalars(raw); len(errs) > 0 {
		return nil, fmt.Errorf("invalid function configuration: %w", errors.Join(errs...))
	}
	cfg := Default()
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		return nil, fmt.Errorf("invalid function configuration: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Validate checks that the controller can work with the configuration.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if c.Mode != ModeBuildless && c.Mode != ModeBuild {
		add("mode", "must be %q or %q, got %q", ModeBuildless, ModeBuild, c.Mode)
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		add("logLevel", "must be one of %s, got %q", strings.Join(logLevels, ", "), c.LogLevel)
	}
	if !slices.Contains(logFormats, c.LogFormat) {
		add("logFormat", "must be one of %s, got %q", strings.Join(logFormats, ", "), c.LogFormat)
	}
	if c.RequeueDuration.Duration <= 0 {
		add("requeueDuration", "must be a positive duration such as 5m, got %s", c.RequeueDuration.Duration)
	}
	if c.HealthzLivenessTimeout.Duration <= 0 {
		add("healthzLivenessTimeout", "must be a positive duration such as 10s, got %s", c.HealthzLivenessTimeout.Duration)
	}
	if c.TargetCPUUtilizationPercentage < 1 || c.TargetCPUUtilizationPercentage > 100 {
		add("targetCPUUtilizationPercentage", "must be from 1 to 100, got %d", c.TargetCPUUtilizationPercentage)
	}
	if err := checkEndpoint(c.TracingEndpoint); err != nil {
		add("tracingEndpoint", "%v", err)
	}
	if err := checkEndpoint(c.EventingEndpoint); err != nil {
		add("eventingEndpoint", "%v", err)
	}

	for _, rt := range serverlessv1alpha2.Runtimes {
		if strings.TrimSpace(c.RuntimeImages[string(rt)]) == "" {
			add("runtimeImages."+string(rt), "must name the image of the %s runtime", rt)
		}
	}
	for _, name := range sortedKeys(c.RuntimeImages) {
		if !slices.Contains(serverlessv1alpha2.Runtimes, serverlessv1alpha2.Runtime(name)) {
			add("runtimeImages."+name, "unknown runtime; supported runtimes are %s", runtimeList())
		}
	}
	if strings.TrimSpace(c.GitFetcherImage) == "" {
		add("gitFetcherImage", "must name the image that fetches Git sources")
	}
	errs = append(errs, c.RuntimePresets.validate("runtimePresets", RuntimePresetNames)...)

	// Build presets have defaults, so they are checked in both modes: switching modes must
	// not reveal a broken configuration.
	errs = append(errs, c.Build.Presets.validate("build.presets", BuildPresetNames)...)
	if c.Mode == ModeBuild {
		if strings.TrimSpace(c.Build.ExecutorImage) == "" {
			add("build.executorImage", "must name the image builder image in build mode")
		}
		if c.Build.MaxSimultaneousJobs < 1 {
			add("build.maxSimultaneousJobs", "must be at least 1, got %d", c.Build.MaxSimultaneousJobs)
		}
		if strings.TrimSpace(c.Build.RegistrySecretName) == "" {
			add("build.registrySecretName", "must name the registry Secret in build mode (set registry.enableInternal or registry.secretName in the chart values)")
		}
		if strings.TrimSpace(c.Build.DockerfileConfigMapPrefix) == "" {
			add("build.dockerfileConfigMapPrefix", "must not be empty in build mode")
		}
	}

	if len(errs) > 0 {
		return fmt.Errorf("invalid function configuration: %w", errors.Join(errs...))
	}
	return nil
}

// validate checks that every required preset is defined with positive requests no larger
// than the limits, and that the default names a preset.
func (p Presets) validate(key string, required []string) []error {
	var errs []error
	add := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", k, fmt.Sprintf(format, args...)))
	}
	if _, ok := p.Presets[p.Default]; !ok {
		add(key+".default", "names no preset: %q is not one of %s", p.Default, strings.Join(sortedKeys(p.Presets), ", "))
	}
	for _, name := range required {
		if _, ok := p.Presets[name]; !ok {
			add(key+".presets."+name, "must be defined: Functions may use it")
		}
	}
	for _, name := range sortedKeys(p.Presets) {
		preset, k := p.Presets[name], key+".presets."+name
		check := func(what string, req, lim resource.Quantity) {
			if req.Sign() <= 0 {
				add(k+".requests."+what, "must be a positive quantity")
			}
			if lim.Sign() <= 0 {
				add(k+".limits."+what, "must be a positive quantity")
			}
			if req.Sign() > 0 && lim.Sign() > 0 && req.Cmp(lim) > 0 {
				add(k+".requests."+what, "%s is more than the limit %s", req.String(), lim.String())
			}
		}
		check("cpu", preset.Requests.CPU, preset.Limits.CPU)
		check("memory", preset.Requests.Memory, preset.Limits.Memory)
	}
	return errs
}

// checkScalars checks the durations and resource quantities of the raw configuration, so
// that a parse error names its key.
func checkScalars(raw map[string]any) []error {
	var errs []error
	for _, key := range []string{"requeueDuration", "healthzLivenessTimeout"} {
		v, ok := raw[key]
		if !ok {
			continue
		}
		s, isString := v.(string)
		if !isString {
			errs = append(errs, fmt.Errorf("%s: must be a duration such as 5m or 30s, got %v", key, v))
			continue
		}
		if _, err := time.ParseDuration(s); err != nil {
			errs = append(errs, fmt.Errorf("%s: must be a duration such as 5m or 30s: %w", key, err))
		}
	}
	presetSets := map[string]any{"runtimePresets": raw["runtimePresets"]}
	if build, ok := raw["build"].(map[string]any); ok {
		presetSets["build.presets"] = build["presets"]
	}
	for _, setKey := range sortedKeys(presetSets) {
		set, _ := presetSets[setKey].(map[string]any)
		presets, _ := set["presets"].(map[string]any)
		for _, name := range sortedKeys(presets) {
			preset, _ := presets[name].(map[string]any)
			for _, part := range []string{"requests", "limits"} {
				amounts, _ := preset[part].(map[string]any)
				for _, res := range sortedKeys(amounts) {
					v := amounts[res]
					if v == nil {
						continue
					}
					if _, err := resource.ParseQuantity(fmt.Sprint(v)); err != nil {
						errs = append(errs, fmt.Errorf("%s.presets.%s.%s.%s: %q is not a quantity such as 500m or 256Mi", setKey, name, part, res, fmt.Sprint(v)))
					}
				}
			}
		}
	}
	return errs
}

// checkEndpoint accepts an empty endpoint (turned off) or an absolute http(s) URL.
func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("must be empty or an http(s) URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be empty or an http(s) URL with a host, got %q", endpoint)
	}
	return nil
}

func runtimeList() string {
	names := make([]string, 0, len(serverlessv1alpha2.Runtimes))
	for _, rt := range serverlessv1alpha2.Runtimes {
		names = append(names, string(rt))
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
