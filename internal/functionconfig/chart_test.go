package functionconfig_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

const (
	chartDir         = "../../charts/serverless"
	releaseNamespace = "kyma-system"
)

var runtimes = []string{"nodejs20", "nodejs22", "nodejs24", "python312"}

// rendered is the output of the chart for one set of values.
type rendered struct {
	objects []*unstructured.Unstructured
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	return chrt
}

// render renders the chart like the Serverless operator does: Helm's engine, no hooks, no
// release storage.
func render(t *testing.T, values map[string]any) (rendered, error) {
	t.Helper()
	chrt := loadChart(t)
	vals, err := chartutil.ToRenderValues(chrt, values,
		chartutil.ReleaseOptions{Name: "serverless", Namespace: releaseNamespace, IsInstall: true},
		chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	files, err := engine.Engine{Strict: true}.Render(chrt, vals)
	if err != nil {
		return rendered{}, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	var out rendered
	for _, name := range names {
		if strings.HasPrefix(path.Base(name), "_") || strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		dec := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(files[name])))
		for {
			doc, err := dec.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
				t.Fatalf("%s is not valid YAML: %v\n%s", name, err, doc)
			}
			if len(obj.Object) == 0 {
				continue
			}
			out.objects = append(out.objects, obj)
		}
	}
	return out, nil
}

func mustRender(t *testing.T, values map[string]any) rendered {
	t.Helper()
	r, err := render(t, values)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	return r
}

func (r rendered) find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func (r rendered) names(kind string) []string {
	var names []string
	for _, o := range r.objects {
		if o.GetKind() == kind {
			names = append(names, o.GetName())
		}
	}
	sort.Strings(names)
	return names
}

func convert[T any](t *testing.T, obj *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}

// config returns the Function controller configuration the chart renders, parsed by the
// controller's own parser.
func (r rendered) config(t *testing.T) *functionconfig.Config {
	t.Helper()
	obj := r.find("ConfigMap", functionconfig.ConfigMapName)
	if obj == nil {
		t.Fatalf("no ConfigMap %s", functionconfig.ConfigMapName)
	}
	cm := convert[corev1.ConfigMap](t, obj)
	if cm.Namespace != releaseNamespace {
		t.Errorf("config namespace = %q", cm.Namespace)
	}
	cfg, err := functionconfig.Parse([]byte(cm.Data[functionconfig.ConfigMapKey]))
	if err != nil {
		t.Fatalf("the rendered configuration does not parse: %v\n%s", err, cm.Data[functionconfig.ConfigMapKey])
	}
	return cfg
}

func buildMode(extra map[string]any) map[string]any {
	values := map[string]any{"buildless": false, "registry": map[string]any{"secretName": "external-registry"}}
	for k, v := range extra {
		values[k] = v
	}
	return values
}

func TestChartBuildlessInstallsNoBuildModeObjects(t *testing.T) {
	r := mustRender(t, nil)

	want := map[string][]string{
		"ServiceAccount":     {"serverless-function-controller"},
		"ClusterRole":        {"serverless-function-controller"},
		"ClusterRoleBinding": {"serverless-function-controller"},
		"Deployment":         {"serverless-function-controller"},
		"ConfigMap":          {"functions", "serverless-function-config"},
		"PriorityClass":      {"serverless-priority"},
	}
	got := map[string][]string{}
	for _, o := range r.objects {
		got[o.GetKind()] = append(got[o.GetKind()], o.GetName())
	}
	for kind := range got {
		sort.Strings(got[kind])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("objects = %v\nwant %v", got, want)
	}

	cfg := r.config(t)
	if cfg.Mode != functionconfig.ModeBuildless {
		t.Errorf("mode = %q", cfg.Mode)
	}
	if cfg.Build.RegistrySecretName != "" {
		t.Errorf("registrySecretName = %q in buildless mode", cfg.Build.RegistrySecretName)
	}
}

func TestChartBuildModeInstallsBuildObjects(t *testing.T) {
	r := mustRender(t, buildMode(nil))

	sa := r.find("ServiceAccount", "serverless-function")
	if sa == nil {
		t.Fatal("no ServiceAccount serverless-function")
	}
	if got := sa.GetLabels()[functionconfig.ConfigLabel]; got != "service-account" {
		t.Errorf("ServiceAccount label %s = %q", functionconfig.ConfigLabel, got)
	}
	if pull := convert[corev1.ServiceAccount](t, sa).ImagePullSecrets; len(pull) != 1 || pull[0].Name != "external-registry" {
		t.Errorf("imagePullSecrets = %v", pull)
	}

	for _, rt := range runtimes {
		obj := r.find("ConfigMap", "dockerfile-"+rt)
		if obj == nil {
			t.Errorf("no Dockerfile ConfigMap for %s", rt)
			continue
		}
		labels := obj.GetLabels()
		if labels[functionconfig.ConfigLabel] != functionconfig.ConfigLabelRuntime || labels[functionconfig.RuntimeLabel] != rt {
			t.Errorf("dockerfile-%s labels = %v", rt, labels)
		}
		dockerfile := convert[corev1.ConfigMap](t, obj).Data[functionconfig.DockerfileKey]
		image := "europe-docker.pkg.dev/kyma-project/prod/function-runtime-" + rt + ":main"
		for _, want := range []string{"ARG base_image=" + image + "\n", "FROM ${base_image}\n", "COPY ./src/", "\nUSER 1000\n"} {
			if !strings.Contains(dockerfile, want) {
				t.Errorf("dockerfile-%s lacks %q:\n%s", rt, want, dockerfile)
			}
		}
		install := "npm install"
		if rt == "python312" {
			install = "pip install"
		}
		if !strings.Contains(dockerfile, install) {
			t.Errorf("dockerfile-%s does not run %s", rt, install)
		}
	}

	cfg := r.config(t)
	if cfg.Mode != functionconfig.ModeBuild {
		t.Errorf("mode = %q", cfg.Mode)
	}
	if cfg.Build.RegistrySecretName != "external-registry" {
		t.Errorf("registrySecretName = %q", cfg.Build.RegistrySecretName)
	}
	if cfg.Build.ExecutorImage == "" || cfg.DockerfileConfigMapName("nodejs22") != "dockerfile-nodejs22" {
		t.Errorf("build = %+v", cfg.Build)
	}
}

func TestChartBuildModeRegistry(t *testing.T) {
	r := mustRender(t, map[string]any{"buildless": false, "registry": map[string]any{"enableInternal": true, "secretName": "ignored"}})
	if got := r.config(t).Build.RegistrySecretName; got != "dockerregistry-config" {
		t.Errorf("internal registry: registrySecretName = %q", got)
	}

	r = mustRender(t, map[string]any{"buildless": false, "registry": map[string]any{"secretName": "my-registry"}})
	if got := r.config(t).Build.RegistrySecretName; got != "my-registry" {
		t.Errorf("external registry: registrySecretName = %q", got)
	}

	// Without any registry setting, build mode uses the DockerRegistry module's registry.
	r = mustRender(t, map[string]any{"buildless": false})
	if got := r.config(t).Build.RegistrySecretName; got != "dockerregistry-config" {
		t.Errorf("default registry: registrySecretName = %q", got)
	}
}

func TestChartMapsValuesOntoTheConfiguration(t *testing.T) {
	// The operator copies Serverless spec strings, so numbers may arrive as strings.
	r := mustRender(t, map[string]any{
		"logging":  map[string]any{"level": "debug", "format": "console"},
		"function": map[string]any{"requeueDuration": "1m", "healthzLivenessTimeout": "20s", "targetCPUUtilizationPercentage": "80", "defaultPreset": "S"},
		"build":    map[string]any{"maxSimultaneousJobs": "3", "defaultPreset": "fast", "executorArgs": []any{"--cache=false"}},
		"tracing":  map[string]any{"endpoint": "http://otel.example:4318/v1/traces"},
		"eventing": map[string]any{"endpoint": ""},
		"images":   map[string]any{"runtimes": map[string]any{"nodejs22": "registry.example/nodejs22:v9"}, "gitFetcher": "registry.example/git:v1"},
	})
	cfg := r.config(t)
	checks := map[string][2]any{
		"logLevel":        {cfg.LogLevel, "debug"},
		"logFormat":       {cfg.LogFormat, "console"},
		"requeueDuration": {cfg.RequeueDuration.Duration.String(), "1m0s"},
		"healthz":         {cfg.HealthzLivenessTimeout.Duration.String(), "20s"},
		"cpu":             {cfg.TargetCPUUtilizationPercentage, int32(80)},
		"runtimePreset":   {cfg.RuntimePresets.Default, "S"},
		"jobs":            {cfg.Build.MaxSimultaneousJobs, 3},
		"buildPreset":     {cfg.Build.Presets.Default, "fast"},
		"executorArgs":    {strings.Join(cfg.Build.ExecutorArgs, " "), "--cache=false"},
		"tracing":         {cfg.TracingEndpoint, "http://otel.example:4318/v1/traces"},
		"eventing":        {cfg.EventingEndpoint, ""},
		"nodejs22":        {cfg.RuntimeImages["nodejs22"], "registry.example/nodejs22:v9"},
		"nodejs20":        {cfg.RuntimeImages["nodejs20"], "europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs20:main"},
		"gitFetcher":      {cfg.GitFetcherImage, "registry.example/git:v1"},
	}
	for name, c := range checks {
		if !reflect.DeepEqual(c[0], c[1]) {
			t.Errorf("%s = %#v, want %#v", name, c[0], c[1])
		}
	}
}

func TestChartDefaultsMatchTheControllerDefaults(t *testing.T) {
	cfg := mustRender(t, nil).config(t)
	def := functionconfig.Default()
	if cfg.Mode != def.Mode || cfg.LogLevel != def.LogLevel || cfg.LogFormat != def.LogFormat ||
		cfg.RequeueDuration != def.RequeueDuration || cfg.HealthzLivenessTimeout != def.HealthzLivenessTimeout ||
		cfg.TargetCPUUtilizationPercentage != def.TargetCPUUtilizationPercentage ||
		cfg.TracingEndpoint != def.TracingEndpoint || cfg.EventingEndpoint != def.EventingEndpoint ||
		!slices.Equal(cfg.Build.ExecutorArgs, def.Build.ExecutorArgs) ||
		cfg.Build.MaxSimultaneousJobs != def.Build.MaxSimultaneousJobs {
		t.Errorf("chart defaults differ from the controller defaults:\nchart %+v\n   go %+v", cfg, def)
	}
	comparePresets(t, "runtime", cfg.RuntimePresets, def.RuntimePresets)
	comparePresets(t, "build", cfg.Build.Presets, def.Build.Presets)
}

func comparePresets(t *testing.T, what string, got, want functionconfig.Presets) {
	t.Helper()
	if got.Default != want.Default || len(got.Presets) != len(want.Presets) {
		t.Errorf("%s presets: chart %v, controller %v", what, got, want)
		return
	}
	for name, w := range want.Presets {
		g := got.Presets[name]
		if g.Requests.CPU.Cmp(w.Requests.CPU) != 0 || g.Requests.Memory.Cmp(w.Requests.Memory) != 0 ||
			g.Limits.CPU.Cmp(w.Limits.CPU) != 0 || g.Limits.Memory.Cmp(w.Limits.Memory) != 0 {
			t.Errorf("%s preset %s: chart %+v, controller %+v", what, name, g, w)
		}
	}
}

func TestChartNetworkPolicies(t *testing.T) {
	if got := mustRender(t, nil).names("NetworkPolicy"); len(got) != 0 {
		t.Errorf("NetworkPolicies without networkPolicies.enabled: %v", got)
	}
	got := mustRender(t, map[string]any{"networkPolicies": map[string]any{"enabled": true}}).names("NetworkPolicy")
	want := []string{
		"kyma-project.io--serverless-allow-egress",
		"kyma-project.io--serverless-allow-metrics",
		"kyma-project.io--serverless-allow-to-apiserver",
		"kyma-project.io--serverless-to-dns",
	}
	if !slices.Equal(got, want) {
		t.Errorf("NetworkPolicies = %v, want %v", got, want)
	}
}

// allVariants renders every combination of the switches that add or remove objects.
func allVariants(t *testing.T) map[string]rendered {
	t.Helper()
	return map[string]rendered{
		"buildless":                 mustRender(t, nil),
		"build":                     mustRender(t, buildMode(nil)),
		"buildless+networkPolicies": mustRender(t, map[string]any{"networkPolicies": map[string]any{"enabled": true}}),
		"build+networkPolicies":     mustRender(t, buildMode(map[string]any{"networkPolicies": map[string]any{"enabled": true}})),
	}
}

func TestChartPodsAreRestricted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}
	for variant, r := range allVariants(t) {
		pods := 0
		for _, o := range r.objects {
			var template *corev1.PodTemplateSpec
			switch o.GetKind() {
			case "Deployment":
				template = &convert[appsv1.Deployment](t, o).Spec.Template
			case "StatefulSet":
				template = &convert[appsv1.StatefulSet](t, o).Spec.Template
			case "DaemonSet":
				template = &convert[appsv1.DaemonSet](t, o).Spec.Template
			case "Job":
				template = &convert[batchv1.Job](t, o).Spec.Template
			case "Pod":
				pod := convert[corev1.Pod](t, o)
				template = &corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
			default:
				continue
			}
			pods++
			result := policy.AggregateCheckResults(evaluator.EvaluatePod(restricted, &template.ObjectMeta, &template.Spec))
			if !result.Allowed {
				t.Errorf("%s: %s %s violates PodSecurity restricted: %s", variant, o.GetKind(), o.GetName(), result.ForbiddenDetail())
			}
		}
		if pods == 0 {
			t.Errorf("%s: no Pod templates rendered", variant)
		}
	}
}

func TestChartRBACHasNoWildcards(t *testing.T) {
	for variant, r := range allVariants(t) {
		roles := 0
		for _, o := range r.objects {
			var rules []rbacv1.PolicyRule
			switch o.GetKind() {
			case "ClusterRole":
				rules = convert[rbacv1.ClusterRole](t, o).Rules
			case "Role":
				rules = convert[rbacv1.Role](t, o).Rules
			default:
				continue
			}
			roles++
			if len(rules) == 0 {
				t.Errorf("%s: %s %s has no rules", variant, o.GetKind(), o.GetName())
			}
			for i, rule := range rules {
				for _, field := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames, rule.NonResourceURLs} {
					for _, v := range field {
						if strings.Contains(v, "*") {
							t.Errorf("%s: %s %s rule %d has a wildcard: %+v", variant, o.GetKind(), o.GetName(), i, rule)
						}
					}
				}
				if len(rule.Verbs) == 0 || (len(rule.Resources) == 0 && len(rule.NonResourceURLs) == 0) {
					t.Errorf("%s: %s %s rule %d is incomplete: %+v", variant, o.GetKind(), o.GetName(), i, rule)
				}
			}
		}
		if roles == 0 {
			t.Errorf("%s: no roles rendered", variant)
		}
	}
}

func TestChartObjectsAreLabelledAndNamespaced(t *testing.T) {
	appVersion := loadChart(t).Metadata.AppVersion
	clusterScoped := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true, "PriorityClass": true}
	for variant, r := range allVariants(t) {
		for _, o := range r.objects {
			labels := o.GetLabels()
			if labels["app.kubernetes.io/name"] == "" || labels["app.kubernetes.io/part-of"] != "serverless" ||
				labels["app.kubernetes.io/version"] != appVersion {
				t.Errorf("%s: %s %s lacks the common labels: %v", variant, o.GetKind(), o.GetName(), labels)
			}
			if clusterScoped[o.GetKind()] != (o.GetNamespace() == "") {
				t.Errorf("%s: %s %s has namespace %q", variant, o.GetKind(), o.GetName(), o.GetNamespace())
			}
			if !clusterScoped[o.GetKind()] && o.GetNamespace() != releaseNamespace {
				t.Errorf("%s: %s %s is not in the release namespace", variant, o.GetKind(), o.GetName())
			}
		}
	}
}

func TestChartControllerDeployment(t *testing.T) {
	obj := mustRender(t, nil).find("Deployment", "serverless-function-controller")
	if obj == nil {
		t.Fatal("no controller Deployment")
	}
	dep := convert[appsv1.Deployment](t, obj)
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != "serverless-function-controller" || pod.PriorityClassName != "serverless-priority" {
		t.Errorf("serviceAccountName %q, priorityClassName %q", pod.ServiceAccountName, pod.PriorityClassName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	wantArgs := []string{"--config-namespace=" + releaseNamespace, "--config-name=" + functionconfig.ConfigMapName}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args = %v, want %v", c.Args, wantArgs)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["metrics"] != 8080 || ports["health"] != 8081 {
		t.Errorf("ports = %v", ports)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
		c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes = %+v / %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Port.String() != "health" {
		t.Errorf("liveness port = %s", c.LivenessProbe.HTTPGet.Port.String())
	}
	for k, v := range dep.Spec.Selector.MatchLabels {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the Pod labels", k, v)
		}
	}
	if _, ok := dep.Spec.Selector.MatchLabels["app.kubernetes.io/version"]; ok {
		t.Error("the selector must not contain the version: selectors are immutable")
	}
}

func TestChartDashboardExtension(t *testing.T) {
	obj := mustRender(t, nil).find("ConfigMap", "functions")
	if obj == nil {
		t.Fatal("no dashboard ConfigMap")
	}
	cm := convert[corev1.ConfigMap](t, obj)
	if cm.Labels["busola.io/extension"] != "resource" || cm.Labels["busola.io/extension-version"] != "0.5" {
		t.Errorf("labels = %v", cm.Labels)
	}
	for _, key := range []string{"general", "list", "details", "form", "translations", "presets"} {
		data, ok := cm.Data[key]
		if !ok || strings.TrimSpace(data) == "" {
			t.Errorf("key %s is missing", key)
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte(data), &v); err != nil {
			t.Errorf("key %s is not YAML: %v", key, err)
		}
	}
	var general struct {
		Resource struct{ Kind, Group, Version string }
		Scope    string
		URLPath  string `json:"urlPath"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["general"]), &general); err != nil {
		t.Fatal(err)
	}
	if general.Resource.Kind != "Function" || general.Resource.Group != "serverless.kyma-project.io" ||
		general.Resource.Version != "v1alpha2" || general.Scope != "namespace" || general.URLPath != "functions" {
		t.Errorf("general = %+v", general)
	}
	var translations map[string]map[string]string
	if err := yaml.Unmarshal([]byte(cm.Data["translations"]), &translations); err != nil || len(translations["en"]) == 0 {
		t.Errorf("translations need an en section: %v", err)
	}
}

func TestChartRenderingIsDeterministic(t *testing.T) {
	values := buildMode(map[string]any{"networkPolicies": map[string]any{"enabled": true}})
	first, second := mustRender(t, values), mustRender(t, values)
	if !reflect.DeepEqual(first.objects, second.objects) {
		t.Error("two renderings with the same values differ")
	}
}

func TestChartCRDIsTheGeneratedOne(t *testing.T) {
	chartCRD, err := os.ReadFile(chartDir + "/crds/functions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	generated, err := os.ReadFile("../../config/crd/bases/serverless.kyma-project.io_functions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chartCRD, generated) {
		t.Error("charts/serverless/crds/functions.yaml differs from the generated CRD: run make manifests")
	}
}

// TestChartValuesAreDocumented requires a comment above every key of the first two levels
// of values.yaml; deeper keys are explained by the comment of their parent.
func TestChartValuesAreDocumented(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent > 2 {
			continue
		}
		if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
			t.Errorf("values.yaml line %d (%s) has no comment above it", i+1, trimmed)
		}
	}
}

// TestRestrictedCheckCatchesViolations makes sure the PodSecurity evaluator used above refuses
// a Pod that is not restricted-compliant, so that its approval means something.
func TestRestrictedCheckCatchesViolations(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}
	result := policy.AggregateCheckResults(evaluator.EvaluatePod(
		psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}, &metav1.ObjectMeta{}, spec))
	if result.Allowed {
		t.Fatal("a Pod without any securityContext passed the restricted check")
	}
}
