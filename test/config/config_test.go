// Package config_test checks the kustomize configuration the module is released from: the
// release manifest built from config/default (operator Deployment, RBAC, CRD, dashboard
// extension) and the lifecycle-manager metadata in config/module. It needs no cluster.
package config_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Masterminds/semver/v3"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

// repoRoot is the repository root seen from this package's directory, where go test runs.
var repoRoot = filepath.Join("..", "..")

const (
	moduleNamespace  = "kyma-system"
	operatorName     = "serverless-operator"
	operatorImage    = "europe-docker.pkg.dev/kyma-project/prod/serverless-operator:main"
	uiExtensionName  = "serverless-operator.kyma-project.io"
	serverlessCRD    = "serverlesses.operator.kyma-project.io"
	leaderElectionRB = "serverless-operator-leader-election"
)

// object is one resource of the built release manifest.
type object struct {
	apiVersion, kind, name, namespace string
	yaml                              []byte
}

var (
	releaseOnce    sync.Once
	releaseObjects []object
	releaseErr     error
)

// release builds config/default with kustomize, once per test binary.
func release(t *testing.T) []object {
	t.Helper()
	releaseOnce.Do(func() {
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, "config", "default"))
		if err != nil {
			releaseErr = fmt.Errorf("kustomize build config/default: %w", err)
			return
		}
		for _, r := range m.Resources() {
			b, err := r.AsYAML()
			if err != nil {
				releaseErr = fmt.Errorf("render %s/%s: %w", r.GetKind(), r.GetName(), err)
				return
			}
			releaseObjects = append(releaseObjects, object{
				apiVersion: r.GetApiVersion(), kind: r.GetKind(), name: r.GetName(),
				namespace: r.GetNamespace(), yaml: b,
			})
		}
	})
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return releaseObjects
}

// decode finds kind/name in the release manifest and decodes it strictly into out, so that
// a misspelled field fails the test instead of being dropped.
func decode(t *testing.T, kind, name string, out any) {
	t.Helper()
	for _, o := range release(t) {
		if o.kind == kind && o.name == name {
			if err := yaml.UnmarshalStrict(o.yaml, out); err != nil {
				t.Fatalf("%s %s does not decode strictly: %v", kind, name, err)
			}
			return
		}
	}
	t.Fatalf("the release manifest has no %s %s", kind, name)
}

func readYAMLFile(t *testing.T, rel string, out any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

func TestReleaseManifestHasExactlyTheModuleObjects(t *testing.T) {
	g := NewWithT(t)
	var got []string
	for _, o := range release(t) {
		got = append(got, o.kind+"/"+o.name)
		if o.kind == "CustomResourceDefinition" || strings.HasPrefix(o.kind, "Cluster") {
			g.Expect(o.namespace).To(BeEmpty(), "%s/%s is cluster-scoped", o.kind, o.name)
		} else {
			g.Expect(o.namespace).To(Equal(moduleNamespace), "%s/%s", o.kind, o.name)
		}
	}
	// Only the Serverless CRD: the operator installs the Function CRD from its chart, and the
	// DockerRegistry CRD belongs to the DockerRegistry module.
	g.Expect(got).To(ConsistOf(
		"CustomResourceDefinition/"+serverlessCRD,
		"ServiceAccount/"+operatorName,
		"ClusterRole/"+operatorName,
		"ClusterRoleBinding/"+operatorName,
		"Role/"+leaderElectionRB,
		"RoleBinding/"+leaderElectionRB,
		"Deployment/"+operatorName,
		"Service/serverless-operator-metrics",
		"ConfigMap/"+uiExtensionName,
	))
}

func TestReleaseManifestDecodesStrictly(t *testing.T) {
	typed := map[string]func() any{
		"CustomResourceDefinition": func() any { return &apiextensionsv1.CustomResourceDefinition{} },
		"ServiceAccount":           func() any { return &corev1.ServiceAccount{} },
		"ClusterRole":              func() any { return &rbacv1.ClusterRole{} },
		"ClusterRoleBinding":       func() any { return &rbacv1.ClusterRoleBinding{} },
		"Role":                     func() any { return &rbacv1.Role{} },
		"RoleBinding":              func() any { return &rbacv1.RoleBinding{} },
		"Deployment":               func() any { return &appsv1.Deployment{} },
		"Service":                  func() any { return &corev1.Service{} },
		"ConfigMap":                func() any { return &corev1.ConfigMap{} },
	}
	for _, o := range release(t) {
		newObj, ok := typed[o.kind]
		if !ok {
			t.Errorf("no Go type known for %s %s", o.kind, o.name)
			continue
		}
		decode(t, o.kind, o.name, newObj())
	}
}

func operatorDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{}
	decode(t, "Deployment", operatorName, d)
	return d
}

func managerContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the operator Pod has %d containers, want 1", len(cs))
	}
	return cs[0]
}

func TestOperatorServiceAccountIsBoundToItsRoles(t *testing.T) {
	g := NewWithT(t)
	d := operatorDeployment(t)
	saName := d.Spec.Template.Spec.ServiceAccountName
	g.Expect(saName).To(Equal(operatorName))
	g.Expect(d.Spec.Template.Spec.AutomountServiceAccountToken).To(Or(BeNil(), HaveValue(BeTrue())),
		"the operator talks to the API server with its ServiceAccount token")

	sa := &corev1.ServiceAccount{}
	decode(t, "ServiceAccount", saName, sa)
	g.Expect(sa.Namespace).To(Equal(d.Namespace))
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: saName, Namespace: d.Namespace}

	// The generated ClusterRole (make manifests) is part of the manifest and bound to the SA.
	cr := &rbacv1.ClusterRole{}
	decode(t, "ClusterRole", operatorName, cr)
	g.Expect(cr.Rules).NotTo(BeEmpty())
	crb := &rbacv1.ClusterRoleBinding{}
	decode(t, "ClusterRoleBinding", operatorName, crb)
	g.Expect(crb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: operatorName}))
	g.Expect(crb.Subjects).To(ConsistOf(subject))

	// Leader election: a namespaced Role limited to Leases, enough for a Lease lock.
	role := &rbacv1.Role{}
	decode(t, "Role", leaderElectionRB, role)
	g.Expect(role.Namespace).To(Equal(d.Namespace))
	g.Expect(role.Rules).To(HaveLen(1))
	g.Expect(role.Rules[0].APIGroups).To(ConsistOf("coordination.k8s.io"))
	g.Expect(role.Rules[0].Resources).To(ConsistOf("leases"))
	g.Expect(role.Rules[0].ResourceNames).To(BeEmpty(), "the Lease is created on first start")
	g.Expect(role.Rules[0].Verbs).To(ContainElements("get", "create", "update"))
	rb := &rbacv1.RoleBinding{}
	decode(t, "RoleBinding", leaderElectionRB, rb)
	g.Expect(rb.Namespace).To(Equal(d.Namespace))
	g.Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}))
	g.Expect(rb.Subjects).To(ConsistOf(subject))
}

// operatorFlags lists the flags cmd/serverless-operator defines with the flag package.
func operatorFlags(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "cmd", "serverless-operator", "main.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !strings.HasSuffix(sel.Sel.Name, "Var") {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "flag" {
			return true
		}
		if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			name, _ := strconv.Unquote(lit.Value)
			flags[name] = true
		}
		return true
	})
	if len(flags) == 0 {
		t.Fatal("found no flag definitions in cmd/serverless-operator/main.go; update this test")
	}
	return flags
}

func TestOperatorDeployment(t *testing.T) {
	g := NewWithT(t)
	d := operatorDeployment(t)
	c := managerContainer(t, d)

	g.Expect(d.Namespace).To(Equal(moduleNamespace))
	g.Expect(c.Image).To(Equal(operatorImage), "the image comes from the kustomize images entry")
	g.Expect(d.Spec.Selector.MatchLabels).NotTo(BeEmpty())
	for k, v := range d.Spec.Selector.MatchLabels {
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v))
	}

	// Every argument is a flag the binary defines; a typo would stop it at start.
	defined := operatorFlags(t)
	args := map[string]string{}
	for _, a := range c.Args {
		g.Expect(a).To(HavePrefix("--"))
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		g.Expect(defined).To(HaveKey(name), "argument %s", a)
		args[name] = value
	}
	g.Expect(c.Command).To(BeEmpty(), "the image's entrypoint is the operator")
	g.Expect(args).To(HaveKey("leader-elect"))
	g.Expect(args).To(HaveKeyWithValue("chart-dir", "/charts/serverless"))

	// Probes and metrics on the ports the operator binds.
	port := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.Int {
			return p.IntVal
		}
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return cp.ContainerPort
			}
		}
		t.Fatalf("the container has no port named %q", p.StrVal)
		return 0
	}
	g.Expect(args).To(HaveKeyWithValue("health-probe-bind-address", ":8081"))
	g.Expect(args).To(HaveKeyWithValue("metrics-bind-address", ":8080"))
	g.Expect(c.LivenessProbe).NotTo(BeNil())
	g.Expect(c.LivenessProbe.HTTPGet).NotTo(BeNil())
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(port(c.LivenessProbe.HTTPGet.Port)).To(BeEquivalentTo(8081))
	g.Expect(c.ReadinessProbe).NotTo(BeNil())
	g.Expect(c.ReadinessProbe.HTTPGet).NotTo(BeNil())
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(port(c.ReadinessProbe.HTTPGet.Port)).To(BeEquivalentTo(8081))

	svc := &corev1.Service{}
	decode(t, "Service", "serverless-operator-metrics", svc)
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	g.Expect(port(svc.Spec.Ports[0].TargetPort)).To(BeEquivalentTo(8080))
	g.Expect(svc.Spec.Selector).NotTo(BeEmpty())
	for k, v := range svc.Spec.Selector {
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v), "the metrics Service selects the operator Pod")
	}

	// Sized for an operator that stays below 60 MiB resident.
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	for name, q := range want.Requests {
		got, ok := c.Resources.Requests[name]
		g.Expect(ok).To(BeTrue(), "request %s is set", name)
		g.Expect(got.Cmp(q)).To(BeZero(), "request %s is %s", name, q.String())
	}
	for name, q := range want.Limits {
		got, ok := c.Resources.Limits[name]
		g.Expect(ok).To(BeTrue(), "limit %s is set", name)
		g.Expect(got.Cmp(q)).To(BeZero(), "limit %s is %s", name, q.String())
	}
	memLimit := c.Resources.Limits[corev1.ResourceMemory]
	g.Expect(memLimit.Value()).To(BeNumerically(">", int64(60<<20)), "the limit leaves room above the 60 MiB target")

	// A PriorityClass the cluster lacks would keep the Pod from being created.
	if pc := d.Spec.Template.Spec.PriorityClassName; pc != "" {
		g.Expect(pc).To(BeElementOf("system-cluster-critical", "system-node-critical"),
			"priorityClassName %q must exist before the operator runs", pc)
	}
}

// operatorImageEnv reads the image variables the operator honours from
// controllers/serverless/configure.go, so that a new runtime or image cannot be added there
// without being set here.
func operatorImageEnv(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "controllers", "serverless", "configure.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	var runtimes []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				switch v := vs.Values[i].(type) {
				case *ast.BasicLit:
					if v.Kind == token.STRING {
						consts[name.Name], _ = strconv.Unquote(v.Value)
					}
				case *ast.CompositeLit:
					if name.Name != "runtimes" {
						continue
					}
					for _, e := range v.Elts {
						if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							s, _ := strconv.Unquote(lit.Value)
							runtimes = append(runtimes, s)
						}
					}
				}
			}
		}
	}
	prefix, ok := consts["imageEnvRuntimePrefix"]
	if !ok || len(runtimes) == 0 {
		t.Fatal("configure.go no longer declares imageEnvRuntimePrefix and runtimes; update this test")
	}
	var names []string
	for k, v := range consts {
		if strings.HasPrefix(k, "imageEnv") && k != "imageEnvRuntimePrefix" {
			names = append(names, v)
		}
	}
	for _, r := range runtimes {
		names = append(names, prefix+strings.ToUpper(r))
	}
	sort.Strings(names)
	return names
}

var imageRef = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$`)

func TestEveryImageOverrideIsSet(t *testing.T) {
	g := NewWithT(t)
	names := operatorImageEnv(t)
	g.Expect(names).To(ContainElements("IMAGE_FUNCTION_CONTROLLER", "IMAGE_FUNCTION_GIT_FETCHER",
		"IMAGE_FUNCTION_BUILD_EXECUTOR", "IMAGE_FUNCTION_RUNTIME_NODEJS20", "IMAGE_FUNCTION_RUNTIME_PYTHON312"))

	c := managerContainer(t, operatorDeployment(t))
	env := map[string]string{}
	for _, e := range c.Env {
		g.Expect(env).NotTo(HaveKey(e.Name), "%s is set twice", e.Name)
		env[e.Name] = e.Value
	}
	for _, name := range names {
		g.Expect(env).To(HaveKey(name))
		g.Expect(env[name]).To(MatchRegexp(imageRef.String()), "%s is a pinned image reference", name)
	}
	for name := range env {
		if strings.HasPrefix(name, "IMAGE_") {
			g.Expect(names).To(ContainElement(name), "the operator does not read %s", name)
		}
	}
}

func TestOperatorPodIsRestricted(t *testing.T) {
	g := NewWithT(t)
	d := operatorDeployment(t)
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	g.Expect(err).NotTo(HaveOccurred())
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec))
	g.Expect(res.Allowed).To(BeTrue(), "%s: %s", res.ForbiddenReason(), res.ForbiddenDetail())

	// Beyond the standard: nothing is written to the image's filesystem.
	sc := managerContainer(t, d).SecurityContext
	g.Expect(sc).NotTo(BeNil())
	g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
}

// ---- dashboard extension ----

// formEntry is an entry of the extension's form, with the keys this test looks at.
type formEntry struct {
	Path         any               `json:"path"`
	Var          string            `json:"var"`
	Name         string            `json:"name"`
	Widget       string            `json:"widget"`
	Type         string            `json:"type"`
	Enum         []string          `json:"enum"`
	DynamicValue string            `json:"dynamicValue"`
	Trigger      []string          `json:"trigger"`
	Subscribe    map[string]string `json:"subscribe"`
	Children     []formEntry       `json:"children"`
}

// fieldPath joins a form entry's path to its parent's; entries without a string path
// (variables, alerts) return "".
func (e formEntry) fieldPath(parent string) string {
	p, ok := e.Path.(string)
	if !ok || p == "" {
		return ""
	}
	if parent == "" {
		return p
	}
	return parent + "." + p
}

func flattenForm(entries []formEntry, parent string, out map[string]formEntry, vars *[]formEntry) {
	for _, e := range entries {
		if e.Var != "" {
			*vars = append(*vars, e)
		}
		p := e.fieldPath(parent)
		if p != "" {
			out[p] = e
		}
		flattenForm(e.Children, p, out, vars)
	}
}

func uiExtension(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	decode(t, "ConfigMap", uiExtensionName, cm)
	return cm
}

func extensionKey(t *testing.T, cm *corev1.ConfigMap, key string, out any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(cm.Data[key]), out); err != nil {
		t.Fatalf("data key %s of the dashboard extension is not YAML: %v", key, err)
	}
}

func serverlessCRDVersion(t *testing.T) (*apiextensionsv1.CustomResourceDefinition, apiextensionsv1.CustomResourceDefinitionVersion) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	decode(t, "CustomResourceDefinition", serverlessCRD, crd)
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return crd, v
		}
	}
	t.Fatal("the Serverless CRD has no storage version")
	return nil, apiextensionsv1.CustomResourceDefinitionVersion{}
}

// leaves lists the leaf fields of a schema as dotted paths with their enum values.
func leaves(prefix string, s apiextensionsv1.JSONSchemaProps, out map[string][]string) {
	if s.Type == "object" && len(s.Properties) > 0 {
		for name, child := range s.Properties {
			leaves(prefix+"."+name, child, out)
		}
		return
	}
	var enum []string
	for _, e := range s.Enum {
		var v string
		if err := yaml.Unmarshal(e.Raw, &v); err == nil {
			enum = append(enum, v)
		}
	}
	out[prefix] = enum
}

func TestUIExtensionConfigMap(t *testing.T) {
	g := NewWithT(t)
	cm := uiExtension(t)
	g.Expect(cm.Namespace).To(Equal(moduleNamespace))
	g.Expect(cm.Labels).To(HaveKeyWithValue("busola.io/extension", "resource"))
	g.Expect(cm.Labels).To(HaveKeyWithValue("busola.io/extension-version", "0.5"))
	g.Expect(cm.Labels).To(HaveKeyWithValue("kyma-project.io/module", "serverless"))
	g.Expect(cm.Data).To(HaveKey("general"))
	for key, value := range cm.Data {
		g.Expect(key).To(BeElementOf("general", "form", "list", "details", "dataSources", "translations", "presets", "injections"))
		var v any
		g.Expect(yaml.Unmarshal([]byte(value), &v)).To(Succeed(), "data key %s", key)
		g.Expect(v).NotTo(BeNil(), "data key %s is empty", key)
	}
	g.Expect(cm.Data).To(HaveKey("list"))
	g.Expect(cm.Data).To(HaveKey("details"))
	g.Expect(cm.Data).To(HaveKey("form"))
	g.Expect(cm.Data).To(HaveKey("translations"))
}

func TestUIExtensionGeneralMatchesTheCRD(t *testing.T) {
	g := NewWithT(t)
	crd, version := serverlessCRDVersion(t)
	var general struct {
		Resource struct{ Kind, Group, Version string } `json:"resource"`
		Name     string                                `json:"name"`
		Category string                                `json:"category"`
		Scope    string                                `json:"scope"`
		URLPath  string                                `json:"urlPath"`
	}
	extensionKey(t, uiExtension(t), "general", &general)
	g.Expect(general.Resource.Kind).To(Equal(crd.Spec.Names.Kind))
	g.Expect(general.Resource.Group).To(Equal(crd.Spec.Group))
	g.Expect(general.Resource.Version).To(Equal(version.Name))
	g.Expect(general.URLPath).To(Equal(crd.Spec.Names.Plural))
	g.Expect(general.Category).To(Equal("Kyma"))
	g.Expect(general.Name).NotTo(BeEmpty())
	g.Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped))
	g.Expect(general.Scope).To(Equal("namespace"))
}

// widgets returns every list or details entry (recursively through children) as a map.
func widgets(v any, out *[]map[string]any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			widgets(e, out)
		}
	case map[string]any:
		if _, ok := x["widget"]; ok {
			*out = append(*out, x)
		} else if _, ok := x["source"]; ok {
			*out = append(*out, x)
		}
		for _, c := range x {
			widgets(c, out)
		}
	}
}

func highlighted(w map[string]any) []string {
	var out []string
	h, _ := w["highlights"].(map[string]any)
	for _, values := range h {
		if vs, ok := values.([]any); ok {
			for _, v := range vs {
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	return out
}

func TestUIExtensionListAndDetails(t *testing.T) {
	g := NewWithT(t)
	cm := uiExtension(t)
	_, version := serverlessCRDVersion(t)
	var states []string
	for _, e := range version.Schema.OpenAPIV3Schema.Properties["status"].Properties["state"].Enum {
		var s string
		g.Expect(yaml.Unmarshal(e.Raw, &s)).To(Succeed())
		states = append(states, s)
	}
	g.Expect(states).To(ConsistOf(operatorv1alpha1.StateReady, operatorv1alpha1.StateProcessing,
		operatorv1alpha1.StateWarning, operatorv1alpha1.StateError, operatorv1alpha1.StateDeleting))

	var list []any
	extensionKey(t, cm, "list", &list)
	var listWidgets []map[string]any
	widgets(list, &listWidgets)
	badge := slices.IndexFunc(listWidgets, func(w map[string]any) bool {
		return w["source"] == "status.state" && w["widget"] == "Badge"
	})
	g.Expect(badge).NotTo(Equal(-1), "the list shows status.state as a Badge")
	g.Expect(highlighted(listWidgets[badge])).To(ConsistOf(states), "every module state has a colour")

	var details struct {
		Header []any `json:"header"`
		Status struct {
			Body []any `json:"body"`
		} `json:"status"`
		Body []any `json:"body"`
	}
	extensionKey(t, cm, "details", &details)
	var statusWidgets, bodyWidgets []map[string]any
	widgets(details.Status.Body, &statusWidgets)
	widgets(details.Body, &bodyWidgets)
	g.Expect(statusWidgets).To(ContainElement(SatisfyAll(
		HaveKeyWithValue("widget", "ConditionList"), HaveKeyWithValue("source", "status.conditions"))))
	g.Expect(bodyWidgets).To(ContainElement(HaveKeyWithValue("widget", "EventList")))
	g.Expect(bodyWidgets).To(ContainElement(HaveKeyWithValue("widget", "Panel")))
	for _, field := range []string{"status.buildlessMode", "status.chartVersion"} {
		g.Expect(bodyWidgets).To(ContainElement(HaveKeyWithValue("source", field)), "the details show %s", field)
	}
}

func TestUIExtensionFormCoversTheSpecAndBuildlessMode(t *testing.T) {
	g := NewWithT(t)
	cm := uiExtension(t)
	_, version := serverlessCRDVersion(t)
	specLeaves := map[string][]string{}
	leaves("spec", version.Schema.OpenAPIV3Schema.Properties["spec"], specLeaves)
	g.Expect(specLeaves).NotTo(BeEmpty())

	var form []formEntry
	extensionKey(t, cm, "form", &form)
	fields := map[string]formEntry{}
	var vars []formEntry
	flattenForm(form, "", fields, &vars)
	for path, enum := range specLeaves {
		g.Expect(fields).To(HaveKey(path), "the form has a field for %s", path)
		if len(enum) > 0 {
			g.Expect(fields[path].Enum).To(Equal(enum), "the form offers the CRD's values for %s", path)
		}
	}
	for path := range fields {
		if !strings.HasPrefix(path, "spec.") {
			continue
		}
		inCRD := false
		for leaf := range specLeaves {
			inCRD = inCRD || leaf == path || strings.HasPrefix(leaf, path+".")
		}
		g.Expect(inCRD).To(BeTrue(), "form field %s is in the CRD", path)
	}

	// The buildless-mode control: a variable with the two modes whose trigger rewrites the
	// annotations with the mode's key.
	modes := []string{operatorv1alpha1.BuildlessModeEnabled, operatorv1alpha1.BuildlessModeDisabled}
	i := slices.IndexFunc(vars, func(e formEntry) bool { return slices.Equal(e.Enum, modes) })
	g.Expect(i).NotTo(Equal(-1), "the form has a variable choosing between %v", modes)
	mode := vars[i]
	g.Expect(mode.Type).To(Equal("string"))
	g.Expect(mode.DynamicValue).To(ContainSubstring(operatorv1alpha1.BuildlessModeAnnotation))
	g.Expect(mode.Trigger).NotTo(BeEmpty())
	annotations, ok := fields["metadata.annotations"]
	g.Expect(ok).To(BeTrue(), "the form overrides metadata.annotations")
	g.Expect(annotations.Subscribe).To(HaveKey(mode.Trigger[0]))
	sub := annotations.Subscribe[mode.Trigger[0]]
	g.Expect(sub).To(ContainSubstring(operatorv1alpha1.BuildlessModeAnnotation))
	g.Expect(sub).To(ContainSubstring("$" + mode.Var))
	g.Expect(sub).To(ContainSubstring("metadata.annotations"), "other annotations are kept")
}

var translationKey = regexp.MustCompile(`^[a-zA-Z]+(\.[a-zA-Z]+)+$`)

// usedKeys collects the strings of v that name translations: values of name, description,
// inputInfo and placeholder that look like keys, and quoted alert keys.
func usedKeys(v any, out map[string]bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			usedKeys(e, out)
		}
	case map[string]any:
		for k, c := range x {
			s, isString := c.(string)
			switch {
			case isString && (k == "name" || k == "description" || k == "inputInfo" || k == "placeholder") && translationKey.MatchString(s):
				out[s] = true
			case isString && k == "alert" && strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'"):
				out[strings.Trim(s, "'")] = true
			default:
				usedKeys(c, out)
			}
		}
	}
}

func TestUIExtensionTranslations(t *testing.T) {
	g := NewWithT(t)
	cm := uiExtension(t)
	var translations map[string]map[string]string
	extensionKey(t, cm, "translations", &translations)
	g.Expect(translations).To(HaveKey("en"))
	en := translations["en"]

	used := map[string]bool{}
	for _, key := range []string{"general", "list", "details", "form"} {
		var v any
		extensionKey(t, cm, key, &v)
		usedKeys(v, used)
	}
	g.Expect(used).NotTo(BeEmpty())
	for key := range used {
		g.Expect(en).To(HaveKey(key), "translation of %s", key)
		g.Expect(strings.TrimSpace(en[key])).NotTo(BeEmpty(), "translation of %s", key)
	}
	for key := range en {
		g.Expect(used).To(HaveKey(key), "translation %s is not used", key)
	}
}

// ---- lifecycle-manager metadata ----

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type moduleConfig struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Manifest      string `json:"manifest"`
	DefaultCR     string `json:"defaultCR"`
	Security      string `json:"security"`
	Repository    string `json:"repository"`
	Documentation string `json:"documentation"`
	Icons         []struct {
		Name string `json:"name"`
		Link string `json:"link"`
	} `json:"icons"`
	Team    string `json:"team"`
	Manager *struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		gvk       `json:",inline"`
	} `json:"manager"`
	AssociatedResources []gvk `json:"associatedResources"`
}

const moduleConfigPath = "config/module/module-config.yaml"

// The fields modulectl reads; channel, namespace and mandatory were removed from it and
// would be ignored silently.
var moduleConfigKeys = []string{
	"name", "version", "manifest", "repository", "documentation", "icons", "team",
	"defaultCR", "security", "labels", "annotations", "manager", "associatedResources",
	"resources", "requiresDowntime", "internal", "beta", "securityScanEnabled",
}

func httpsURL(g Gomega, s, what string) {
	u, err := url.Parse(s)
	g.Expect(err).NotTo(HaveOccurred(), what)
	g.Expect(u.Scheme).To(Equal("https"), what)
	g.Expect(u.Host).NotTo(BeEmpty(), what)
}

func TestModuleConfig(t *testing.T) {
	g := NewWithT(t)
	var raw map[string]any
	readYAMLFile(t, moduleConfigPath, &raw)
	for key := range raw {
		g.Expect(moduleConfigKeys).To(ContainElement(key), "%s is not a module-config field", key)
	}
	mc := moduleConfig{}
	readYAMLFile(t, moduleConfigPath, &mc)

	g.Expect(mc.Name).To(Equal("kyma-project.io/module/serverless"))
	g.Expect(mc.Name).To(MatchRegexp(`^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$`))
	g.Expect(mc.Version).NotTo(HavePrefix("v"))
	_, err := semver.StrictNewVersion(mc.Version)
	g.Expect(err).NotTo(HaveOccurred(), "version %q is strict semver", mc.Version)

	// manifest: the file built from config/default, or an https URL.
	if strings.Contains(mc.Manifest, "://") {
		httpsURL(g, mc.Manifest, "manifest")
	} else {
		g.Expect(mc.Manifest).NotTo(BeEmpty())
		g.Expect(filepath.IsAbs(mc.Manifest)).To(BeFalse())
		g.Expect(mc.Manifest).To(HaveSuffix(".yaml"))
	}
	httpsURL(g, mc.Repository, "repository")
	httpsURL(g, mc.Documentation, "documentation")
	g.Expect(mc.Icons).NotTo(BeEmpty())
	for _, icon := range mc.Icons {
		g.Expect(icon.Name).NotTo(BeEmpty())
		httpsURL(g, icon.Link, "icon "+icon.Name)
	}
	g.Expect(mc.Team).To(MatchRegexp(`^kyma/[A-Za-z0-9][A-Za-z0-9_-]*$`))

	// The manager is the operator Deployment of the release manifest.
	g.Expect(mc.Manager).NotTo(BeNil())
	d := operatorDeployment(t)
	g.Expect(mc.Manager.Name).To(Equal(d.Name))
	g.Expect(mc.Manager.Namespace).To(Equal(d.Namespace))
	g.Expect(mc.Manager.gvk).To(Equal(gvk{Group: "apps", Version: "v1", Kind: "Deployment"}))

	// Functions are what users create with the module.
	g.Expect(mc.AssociatedResources).To(ContainElement(gvk{Group: "serverless.kyma-project.io", Version: "v1alpha2", Kind: "Function"}))
	for _, r := range mc.AssociatedResources {
		fn := &apiextensionsv1.CustomResourceDefinition{}
		readYAMLFile(t, filepath.Join("config", "crd", "bases", r.Group+"_"+strings.ToLower(r.Kind)+"s.yaml"), fn)
		g.Expect(fn.Spec.Names.Kind).To(Equal(r.Kind))
		g.Expect(fn.Spec.Versions).To(ContainElement(SatisfyAll(
			HaveField("Name", r.Version), HaveField("Served", true))), "%s/%s is served", r.Group, r.Version)
	}

	if mc.Security != "" {
		var sec struct {
			ModuleName string   `json:"module-name"`
			BDBA       []string `json:"bdba"`
		}
		readYAMLFile(t, mc.Security, &sec)
		g.Expect(sec.ModuleName).To(Equal("serverless"))
		c := managerContainer(t, d)
		images := []string{c.Image}
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "IMAGE_") {
				images = append(images, e.Value)
			}
		}
		g.Expect(sec.BDBA).To(ContainElements(images), "every shipped image is scanned")
	}
}

func TestDefaultCR(t *testing.T) {
	g := NewWithT(t)
	mc := moduleConfig{}
	readYAMLFile(t, moduleConfigPath, &mc)
	g.Expect(mc.DefaultCR).To(Equal("config/samples/operator_v1alpha1_serverless.yaml"))
	b, err := os.ReadFile(filepath.Join(repoRoot, mc.DefaultCR))
	g.Expect(err).NotTo(HaveOccurred())
	cr := &operatorv1alpha1.Serverless{}
	g.Expect(yaml.UnmarshalStrict(b, cr)).To(Succeed(), "the default CR has only Serverless fields")

	crd, version := serverlessCRDVersion(t)
	g.Expect(cr.APIVersion).To(Equal(crd.Spec.Group + "/" + version.Name))
	g.Expect(cr.Kind).To(Equal(crd.Spec.Names.Kind))
	g.Expect(cr.Name).To(Equal("default"))
	g.Expect(cr.Namespace).To(Equal(moduleNamespace))
	g.Expect(cr.Status).To(BeZero())
	if v, ok := cr.Annotations[operatorv1alpha1.BuildlessModeAnnotation]; ok {
		g.Expect(v).To(BeElementOf(operatorv1alpha1.BuildlessModeEnabled, operatorv1alpha1.BuildlessModeDisabled))
	}
}
