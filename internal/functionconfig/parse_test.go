package functionconfig

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const images = `
runtimeImages:
  nodejs20: registry.example/function-runtime-nodejs20:1.0.0
  nodejs22: registry.example/function-runtime-nodejs22:1.0.0
  nodejs24: registry.example/function-runtime-nodejs24:1.0.0
  python312: registry.example/function-runtime-python312:1.0.0
gitFetcherImage: registry.example/git-fetcher:1.0.0
`

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestParseAppliesDefaults(t *testing.T) {
	cfg := mustParse(t, images)

	if cfg.Mode != ModeBuildless {
		t.Errorf("mode = %q, want buildless", cfg.Mode)
	}
	if cfg.LogLevel != "info" || cfg.LogFormat != "json" {
		t.Errorf("logging = %s/%s, want info/json", cfg.LogLevel, cfg.LogFormat)
	}
	if cfg.RequeueDuration.Duration != 5*time.Minute || cfg.HealthzLivenessTimeout.Duration != 10*time.Second {
		t.Errorf("durations = %s/%s, want 5m/10s", cfg.RequeueDuration.Duration, cfg.HealthzLivenessTimeout.Duration)
	}
	if cfg.TargetCPUUtilizationPercentage != 50 {
		t.Errorf("targetCPUUtilizationPercentage = %d, want 50", cfg.TargetCPUUtilizationPercentage)
	}
	if cfg.TracingEndpoint != "" || cfg.EventingEndpoint != DefaultEventingEndpoint {
		t.Errorf("endpoints = %q/%q", cfg.TracingEndpoint, cfg.EventingEndpoint)
	}
	if cfg.Build.MaxSimultaneousJobs != 5 || cfg.Build.DockerfileConfigMapPrefix != "dockerfile-" {
		t.Errorf("build = %+v", cfg.Build)
	}
	if strings.Join(cfg.Build.ExecutorArgs, " ") != strings.Join(DefaultExecutorArgs(), " ") {
		t.Errorf("executorArgs = %v", cfg.Build.ExecutorArgs)
	}

	// Kyma's preset numbers.
	wantRuntime := map[string][4]string{
		"XS": {"50m", "64Mi", "150m", "192Mi"},
		"S":  {"100m", "128Mi", "200m", "256Mi"},
		"M":  {"200m", "256Mi", "400m", "512Mi"},
		"L":  {"400m", "512Mi", "800m", "1024Mi"},
		"XL": {"800m", "1024Mi", "1600m", "2048Mi"},
	}
	wantBuild := map[string][4]string{
		"local-dev": {"100m", "200Mi", "200m", "400Mi"},
		"slow":      {"200m", "200Mi", "700m", "700Mi"},
		"normal":    {"700m", "700Mi", "1100m", "1100Mi"},
		"fast":      {"1100m", "1100Mi", "1700m", "1700Mi"},
	}
	checkPresets(t, "runtimePresets", cfg.RuntimePresets, "L", wantRuntime)
	checkPresets(t, "build.presets", cfg.Build.Presets, "normal", wantBuild)
}

func checkPresets(t *testing.T, key string, got Presets, wantDefault string, want map[string][4]string) {
	t.Helper()
	if got.Default != wantDefault {
		t.Errorf("%s.default = %q, want %q", key, got.Default, wantDefault)
	}
	if len(got.Presets) != len(want) {
		t.Errorf("%s has %d presets, want %d", key, len(got.Presets), len(want))
	}
	for name, w := range want {
		p, ok := got.Presets[name]
		if !ok {
			t.Errorf("%s.%s missing", key, name)
			continue
		}
		for i, q := range []resource.Quantity{p.Requests.CPU, p.Requests.Memory, p.Limits.CPU, p.Limits.Memory} {
			if q.Cmp(resource.MustParse(w[i])) != 0 {
				t.Errorf("%s.%s value %d = %s, want %s", key, name, i, q.String(), w[i])
			}
		}
	}
}

func TestParseFullConfiguration(t *testing.T) {
	cfg := mustParse(t, images+`
mode: build
logLevel: debug
logFormat: console
requeueDuration: 1h30m
healthzLivenessTimeout: 500ms
targetCPUUtilizationPercentage: 80
tracingEndpoint: http://telemetry-otlp-traces.kyma-system.svc.cluster.local:4318/v1/traces
eventingEndpoint: ""
runtimePresets:
  default: S
  presets:
    S: {requests: {cpu: 150m, memory: 100Mi}, limits: {cpu: 1, memory: 1Gi}}
build:
  executorImage: registry.example/kaniko:1.0.0
  executorArgs: ["--cache=false"]
  maxSimultaneousJobs: 2
  presets:
    default: fast
  registrySecretName: serverless-registry-config
  dockerfileConfigMapPrefix: df-
`)
	if cfg.Mode != ModeBuild || cfg.LogLevel != "debug" || cfg.LogFormat != "console" {
		t.Errorf("mode/logging = %s %s %s", cfg.Mode, cfg.LogLevel, cfg.LogFormat)
	}
	if cfg.RequeueDuration.Duration != 90*time.Minute || cfg.HealthzLivenessTimeout.Duration != 500*time.Millisecond {
		t.Errorf("durations = %s/%s", cfg.RequeueDuration.Duration, cfg.HealthzLivenessTimeout.Duration)
	}
	if cfg.TargetCPUUtilizationPercentage != 80 {
		t.Errorf("targetCPUUtilizationPercentage = %d", cfg.TargetCPUUtilizationPercentage)
	}
	if cfg.EventingEndpoint != "" {
		t.Errorf("an explicitly empty eventing endpoint must stay empty, got %q", cfg.EventingEndpoint)
	}
	if img, ok := cfg.RuntimeImage("python312"); !ok || img != "registry.example/function-runtime-python312:1.0.0" {
		t.Errorf("RuntimeImage(python312) = %q, %v", img, ok)
	}
	if _, ok := cfg.RuntimeImage("nodejs18"); ok {
		t.Errorf("RuntimeImage(nodejs18) found")
	}

	// A preset given in the configuration replaces that preset; the others keep their defaults.
	s, ok := cfg.RuntimePresets.Get("")
	if !ok || s.Limits.Memory.Cmp(resource.MustParse("1Gi")) != 0 || s.Requests.CPU.Cmp(resource.MustParse("150m")) != 0 {
		t.Errorf("default runtime preset = %+v, %v", s, ok)
	}
	if xl, ok := cfg.RuntimePresets.Get("XL"); !ok || xl.Limits.CPU.Cmp(resource.MustParse("1600m")) != 0 {
		t.Errorf("XL = %+v, %v", xl, ok)
	}
	if _, ok := cfg.RuntimePresets.Get("XXL"); ok {
		t.Errorf("XXL found")
	}
	if len(cfg.Build.Presets.Presets) != 4 || cfg.Build.Presets.Default != "fast" {
		t.Errorf("build presets = %+v", cfg.Build.Presets)
	}

	if got := strings.Join(cfg.Build.ExecutorArgs, " "); got != "--cache=false" {
		t.Errorf("executorArgs = %q: a list in the configuration replaces the default list", got)
	}
	if cfg.Build.MaxSimultaneousJobs != 2 || cfg.Build.RegistrySecretName != "serverless-registry-config" {
		t.Errorf("build = %+v", cfg.Build)
	}
	if got := cfg.DockerfileConfigMapName("nodejs22"); got != "df-nodejs22" {
		t.Errorf("DockerfileConfigMapName = %q", got)
	}

	res := s.ResourceRequirements()
	if got := res.Limits[corev1.ResourceCPU]; got.Cmp(resource.MustParse("1")) != 0 {
		t.Errorf("limits.cpu = %s", got.String())
	}
	if got := res.Requests[corev1.ResourceMemory]; got.Cmp(resource.MustParse("100Mi")) != 0 {
		t.Errorf("requests.memory = %s", got.String())
	}
}

func TestParseRefusesInvalidConfiguration(t *testing.T) {
	build := "mode: build\nbuild:\n  executorImage: kaniko\n  registrySecretName: reg\n"
	cases := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{"YAML syntax", "mode: [buildless", []string{"invalid function configuration"}},
		{"unknown key", images + "modus: build", []string{`unknown field "modus"`}},
		{"unknown nested key", images + "build:\n  executorImg: x", []string{`unknown field "executorImg"`}},
		{"wrong type", images + "targetCPUUtilizationPercentage: fifty", []string{"targetCPUUtilizationPercentage"}},
		{"unknown mode", images + "mode: hybrid", []string{`mode: must be "buildless" or "build", got "hybrid"`}},
		{"unknown log level", images + "logLevel: verbose", []string{`logLevel: must be one of debug, info, warn, error, panic, fatal, got "verbose"`}},
		{"unknown log format", images + "logFormat: xml", []string{`logFormat: must be one of json, console, got "xml"`}},
		{"duration in words", images + "requeueDuration: 5 minutes", []string{"requeueDuration: must be a duration such as 5m or 30s"}},
		{"duration as a number", images + "healthzLivenessTimeout: 10", []string{"healthzLivenessTimeout: must be a duration such as 5m or 30s, got 10"}},
		{"zero duration", images + "requeueDuration: 0s", []string{"requeueDuration: must be a positive duration"}},
		{"CPU target too high", images + "targetCPUUtilizationPercentage: 101", []string{"targetCPUUtilizationPercentage: must be from 1 to 100, got 101"}},
		{"tracing endpoint not a URL", images + "tracingEndpoint: otel-collector:4318", []string{"tracingEndpoint: must be empty or an http(s) URL"}},
		{"eventing endpoint without host", images + "eventingEndpoint: http:///publish", []string{"eventingEndpoint: must be empty or an http(s) URL with a host"}},
		{"no images", "mode: buildless", []string{
			"runtimeImages.nodejs20: must name the image", "runtimeImages.python312: must name the image",
			"gitFetcherImage: must name the image"}},
		{"unknown runtime image", strings.Replace(images, "runtimeImages:\n", "runtimeImages:\n  nodejs18: old\n", 1), []string{"runtimeImages.nodejs18: unknown runtime; supported runtimes are nodejs20, nodejs22, nodejs24, python312"}},
		{"quantity typo", images + "runtimePresets:\n  presets:\n    XS: {requests: {cpu: 50mm, memory: 64Mi}, limits: {cpu: 1, memory: 1Gi}}",
			[]string{`runtimePresets.presets.XS.requests.cpu: "50mm" is not a quantity`}},
		{"requests above limits", images + "runtimePresets:\n  presets:\n    M: {requests: {cpu: 2, memory: 64Mi}, limits: {cpu: 1, memory: 1Gi}}",
			[]string{"runtimePresets.presets.M.requests.cpu: 2 is more than the limit 1"}},
		{"preset without limits", images + "runtimePresets:\n  presets:\n    XL: {requests: {cpu: 1, memory: 1Gi}}",
			[]string{"runtimePresets.presets.XL.limits.cpu: must be a positive quantity", "runtimePresets.presets.XL.limits.memory: must be a positive quantity"}},
		{"unknown default preset", images + "runtimePresets:\n  default: XXL", []string{`runtimePresets.default: names no preset: "XXL" is not one of L, M, S, XL, XS`}},
		{"unknown default build preset", images + "build:\n  presets:\n    default: turbo", []string{`build.presets.default: names no preset: "turbo"`}},
		{"build quantity typo", images + "build:\n  presets:\n    presets:\n      fast: {requests: {cpu: lots}}",
			[]string{`build.presets.presets.fast.requests.cpu: "lots" is not a quantity`}},
		{"build mode without image and registry", images + "mode: build", []string{
			"build.executorImage: must name the image builder image in build mode",
			"build.registrySecretName: must name the registry Secret in build mode"}},
		{"build mode without jobs", images + build + "  maxSimultaneousJobs: 0", []string{"build.maxSimultaneousJobs: must be at least 1, got 0"}},
		{"build mode without Dockerfile prefix", images + build + "  dockerfileConfigMapPrefix: \"\"", []string{"build.dockerfileConfigMapPrefix: must not be empty in build mode"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.doc))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s\ngot %+v", c.doc, cfg)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err.Error(), w)
				}
			}
		})
	}
}

func TestBuildSettingsAreNotRequiredInBuildlessMode(t *testing.T) {
	cfg := mustParse(t, images+"build:\n  maxSimultaneousJobs: 0\n")
	if cfg.Mode != ModeBuildless {
		t.Fatalf("mode = %s", cfg.Mode)
	}
}

func TestDefaultIsIndependent(t *testing.T) {
	a, b := Default(), Default()
	a.RuntimePresets.Presets["XS"] = Preset{}
	a.Build.ExecutorArgs[0] = "changed"
	if xs := b.RuntimePresets.Presets["XS"]; xs.Limits.CPU.IsZero() || b.Build.ExecutorArgs[0] == "changed" {
		t.Fatal("Default returns shared maps or slices")
	}
}
