package installer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

const sampleChart = "testdata/charts/sample"

func TestRenderOrdersObjectsByTier(t *testing.T) {
	g := NewWithT(t)

	m, err := Render(Release{ChartDir: sampleChart, Name: "demo", Namespace: "apps"})
	g.Expect(err).NotTo(HaveOccurred())

	var got []string
	for _, o := range m.Objects {
		got = append(got, RefOf(o).String())
	}
	g.Expect(got).To(Equal([]string{
		"CustomResourceDefinition.apiextensions.k8s.io widgets.sample.example.test",
		"Namespace demo-workspace",
		"ClusterRole.rbac.authorization.k8s.io demo-reader",
		"ClusterRoleBinding.rbac.authorization.k8s.io demo-reader",
		"ServiceAccount demo",
		"ConfigMap demo-config",
		"Secret demo-credentials",
		"Service demo",
		"Deployment.apps demo",
		"Widget.sample.example.test demo-default",
	}))
	g.Expect(m.Hooks).To(ConsistOf(ObjectRef{Group: "batch", Version: "v1", Kind: "Job", Name: "demo-migrate"}))
	g.Expect(m.ChartVersion).To(Equal("0.1.0"))
	g.Expect(m.Namespace).To(Equal("apps"))
	g.Expect(m.ValuesHash).To(HaveLen(64))
}

func TestRenderAppliesValues(t *testing.T) {
	g := NewWithT(t)

	m, err := Render(Release{ChartDir: sampleChart, Name: "demo", Namespace: "apps",
		Values: map[string]any{"image": "example.test/app:2.0.0", "replicas": 3}})
	g.Expect(err).NotTo(HaveOccurred())

	deploy := find(m, "Deployment", "demo")
	g.Expect(deploy).NotTo(BeNil())
	g.Expect(deploy.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("replicas", BeEquivalentTo(3))))
	containers := deploy.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	g.Expect(containers[0]).To(HaveKeyWithValue("image", "example.test/app:2.0.0"))
	binding := find(m, "ClusterRoleBinding", "demo-reader")
	g.Expect(binding.Object["subjects"]).To(ContainElement(HaveKeyWithValue("namespace", "apps")))
}

func TestRenderFailures(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		release func(dir string) Release
		wantErr string
	}{
		{
			name:    "missing chart",
			release: func(string) Release { return Release{ChartDir: "testdata/charts/nope", Name: "a", Namespace: "b"} },
			wantErr: "load chart",
		},
		{
			name:    "missing release name",
			release: func(string) Release { return Release{ChartDir: sampleChart, Namespace: "b"} },
			wantErr: "required",
		},
		{
			name: "dependency not vendored",
			files: map[string]string{
				"Chart.yaml": "apiVersion: v2\nname: broken\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n",
			},
			wantErr: "dependencies missing in its charts/ folder: sub",
		},
		{
			name: "object rendered twice",
			files: map[string]string{
				"templates/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n",
				"templates/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n",
			},
			wantErr: "ConfigMap same is rendered more than once",
		},
		{
			name: "object without name",
			files: map[string]string{
				"templates/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n",
			},
			wantErr: "has no metadata.name",
		},
		{
			name: "library chart",
			files: map[string]string{
				"Chart.yaml": "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n",
			},
			wantErr: "library chart",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			dir := t.TempDir()
			files := map[string]string{"Chart.yaml": "apiVersion: v2\nname: test\nversion: 1.0.0\n"}
			for k, v := range tt.files {
				files[k] = v
			}
			writeFiles(t, dir, files)
			rel := Release{ChartDir: dir, Name: "r", Namespace: "ns"}
			if tt.release != nil {
				rel = tt.release(dir)
			}
			_, err := Render(rel)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestRenderExpandsLists(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: test\nversion: 1.0.0\n",
		"templates/list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: one}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: two}
`,
	})
	m, err := Render(Release{ChartDir: dir, Name: "r", Namespace: "ns"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(m.Objects).To(HaveLen(2))
	g.Expect(m.Objects[0].GetName()).To(Equal("one"))
	g.Expect(m.Objects[1].GetName()).To(Equal("two"))
}

func TestValuesHash(t *testing.T) {
	base := Release{ChartDir: sampleChart, Name: "demo", Namespace: "apps",
		Values: map[string]any{"image": "example.test/app:1.0.0", "replicas": 1, "greeting": "hello"}}
	reference, err := Render(base)
	if err != nil {
		t.Fatal(err)
	}

	bumped := t.TempDir()
	copyDir(t, sampleChart, bumped)
	chartYAML := filepath.Join(bumped, "Chart.yaml")
	data, err := os.ReadFile(chartYAML)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, bumped, map[string]string{"Chart.yaml": strings.Replace(string(data), "version: 0.1.0", "version: 0.2.0", 1)})

	tests := []struct {
		name     string
		release  func(Release) Release
		wantSame bool
	}{
		{name: "same inputs", release: func(r Release) Release { return r }, wantSame: true},
		{name: "same values built in another order", wantSame: true, release: func(r Release) Release {
			r.Values = map[string]any{"greeting": "hello", "replicas": 1, "image": "example.test/app:1.0.0"}
			return r
		}},
		{name: "changed value", release: func(r Release) Release {
			r.Values = map[string]any{"image": "example.test/app:1.0.1", "replicas": 1, "greeting": "hello"}
			return r
		}},
		{name: "value the templates ignore", release: func(r Release) Release {
			r.Values = map[string]any{"image": "example.test/app:1.0.0", "replicas": 1, "greeting": "hello", "unused": true}
			return r
		}},
		{name: "other namespace", release: func(r Release) Release {
			r.Namespace = "other"
			return r
		}},
		{name: "other chart version", release: func(r Release) Release {
			r.ChartDir = bumped
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			m, err := Render(tt.release(base))
			g.Expect(err).NotTo(HaveOccurred())
			if tt.wantSame {
				g.Expect(m.ValuesHash).To(Equal(reference.ValuesHash))
			} else {
				g.Expect(m.ValuesHash).NotTo(Equal(reference.ValuesHash))
			}
		})
	}
}

func TestValuesHashNilAndEmptyValuesAgree(t *testing.T) {
	g := NewWithT(t)
	a, err := Render(Release{ChartDir: sampleChart, Name: "demo", Namespace: "apps"})
	g.Expect(err).NotTo(HaveOccurred())
	b, err := Render(Release{ChartDir: sampleChart, Name: "demo", Namespace: "apps", Values: map[string]any{}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a.ValuesHash).To(Equal(b.ValuesHash))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}
