package installer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// HookAnnotation marks a Helm hook. Hooks are not rendered into a Manifest:
// the engine keeps no release history to run them against.
const HookAnnotation = "helm.sh/hook"

// Release names a chart and the values to render it with.
type Release struct {
	// ChartDir is a chart directory or packaged chart archive.
	ChartDir string
	// Name and Namespace are the release name and the namespace given to
	// namespaced objects that name none.
	Name, Namespace string
	// Values override the chart's values.yaml.
	Values map[string]any
	// KubeVersion, when set (e.g. "v1.33.1"), is what templates see as
	// .Capabilities.KubeVersion; Helm's default otherwise.
	KubeVersion string
}

// Manifest is a rendered release, ready to apply.
type Manifest struct {
	// Objects in install order: CRDs, Namespaces, RBAC and ServiceAccounts,
	// configuration, Services, workloads, everything else.
	Objects []*unstructured.Unstructured
	// ChartVersion is the version in Chart.yaml.
	ChartVersion string
	// ValuesHash identifies the chart version, the values and the rendered
	// content; equal hashes mean equal Objects.
	ValuesHash string
	// Namespace is the release namespace.
	Namespace string
	// Hooks are the objects left out because they are Helm hooks.
	Hooks []ObjectRef
}

// Render renders a chart with the Helm template engine without touching a
// cluster. Files in the chart's crds/ folders come first, unrendered, as Helm
// installs them; hook objects are left out and listed in Manifest.Hooks.
func Render(rel Release) (*Manifest, error) {
	if rel.ChartDir == "" || rel.Name == "" || rel.Namespace == "" {
		return nil, errors.New("render: chart directory, release name and namespace are required")
	}
	chrt, err := loader.Load(rel.ChartDir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", rel.ChartDir, err)
	}
	if chrt.Metadata.Type == "library" {
		return nil, fmt.Errorf("chart %s is a library chart and cannot be installed", chrt.Name())
	}
	if err := checkDependencies(chrt); err != nil {
		return nil, err
	}
	caps := chartutil.DefaultCapabilities.Copy()
	if rel.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(rel.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("parse kube version %q: %w", rel.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	values := rel.Values
	if values == nil {
		values = map[string]any{}
	}
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, values); err != nil {
		return nil, fmt.Errorf("process dependencies of chart %s: %w", chrt.Name(), err)
	}
	top, err := chartutil.ToRenderValues(chrt, values, chartutil.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return nil, fmt.Errorf("values for chart %s: %w", chrt.Name(), err)
	}
	files, err := engine.Render(chrt, top)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", chrt.Name(), err)
	}

	m := &Manifest{ChartVersion: chrt.Metadata.Version, Namespace: rel.Namespace}
	for _, crd := range chrt.CRDObjects() {
		objs, err := decodeObjects(crd.Filename, crd.File.Data)
		if err != nil {
			return nil, err
		}
		m.Objects = append(m.Objects, objs...)
	}
	for _, name := range sortedKeys(files) {
		if path.Base(name) == "NOTES.txt" {
			continue
		}
		objs, err := decodeObjects(name, []byte(files[name]))
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.GetAnnotations()[HookAnnotation] != "" {
				m.Hooks = append(m.Hooks, RefOf(o))
				continue
			}
			m.Objects = append(m.Objects, o)
		}
	}
	if err := checkUnique(m.Objects); err != nil {
		return nil, err
	}
	sortForInstall(m.Objects)
	m.ValuesHash, err = valuesHash(rel, m.ChartVersion, valuesJSON, m.Objects)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// checkDependencies fails when Chart.yaml names a subchart the chart does not
// carry: rendering without it would silently drop (and so prune) its objects.
func checkDependencies(c *chart.Chart) error {
	var missing []string
	for _, dep := range c.Metadata.Dependencies {
		if !slices.ContainsFunc(c.Dependencies(), func(d *chart.Chart) bool { return d.Name() == dep.Name }) {
			missing = append(missing, dep.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart %s: dependencies missing in its charts/ folder: %s", c.Name(), strings.Join(missing, ", "))
	}
	for _, d := range c.Dependencies() {
		if err := checkDependencies(d); err != nil {
			return err
		}
	}
	return nil
}

// decodeObjects parses a multi-document YAML or JSON file. Empty documents
// are skipped and List kinds are expanded into their items.
func decodeObjects(file string, data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read document %d: %w", file, doc, err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
		}
		items := []*unstructured.Unstructured{u}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, doc, err)
			}
			items = items[:0]
			for i := range list.Items {
				items = append(items, &list.Items[i])
			}
		}
		for _, o := range items {
			if o.GetName() == "" {
				return nil, fmt.Errorf("%s: document %d: %s object has no metadata.name", file, doc, o.GetKind())
			}
			out = append(out, o)
		}
	}
}

func checkUnique(objs []*unstructured.Unstructured) error {
	seen := make(map[objectKey]bool, len(objs))
	for _, o := range objs {
		ref := RefOf(o)
		if seen[ref.key()] {
			return fmt.Errorf("%s is rendered more than once", ref)
		}
		seen[ref.key()] = true
	}
	return nil
}

// valuesHash digests everything that determines what Apply writes.
func valuesHash(rel Release, chartVersion string, values []byte, objs []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	write := func(parts ...[]byte) {
		for _, p := range parts {
			h.Write(p)
			h.Write([]byte{0})
		}
	}
	write([]byte(chartVersion), []byte(rel.Name), []byte(rel.Namespace), []byte(rel.KubeVersion), values)
	for _, o := range objs {
		js, err := o.MarshalJSON()
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", RefOf(o), err)
		}
		write(js)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
