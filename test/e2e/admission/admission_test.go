package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

var (
	serverlessGVK     = schema.GroupVersionKind{Group: "operator.kyma-project.io", Version: "v1alpha1", Kind: "Serverless"}
	dockerRegistryGVK = schema.GroupVersionKind{Group: "operator.kyma-project.io", Version: "v1alpha1", Kind: "DockerRegistry"}
	functionGVK       = schema.GroupVersionKind{Group: "serverless.kyma-project.io", Version: "v1alpha2", Kind: "Function"}
)

var _ = Describe("Serverless admission", func() {
	It("has at least 12 distinct refusals", func() {
		Expect(distinct(invalidServerlessSpecs)).To(BeNumerically(">=", 12))
	})
	for _, c := range invalidServerlessSpecs {
		It("refuses "+c.name, func(ctx SpecContext) {
			expectRefused(ctx, serverlessGVK, c)
		})
	}
})

var _ = Describe("Function admission", func() {
	It("has at least 12 distinct refusals", func() {
		Expect(distinct(invalidFunctionSpecs)).To(BeNumerically(">=", 12))
	})
	for _, c := range invalidFunctionSpecs {
		It("refuses "+c.name, func(ctx SpecContext) {
			expectRefused(ctx, functionGVK, c)
		})
	}
})

var _ = Describe("DockerRegistry admission", func() {
	for _, c := range invalidDockerRegistrySpecs {
		It("refuses "+c.name, func(ctx SpecContext) {
			expectRefused(ctx, dockerRegistryGVK, c)
		})
	}
})

var _ = Describe("Valid manifests", func() {
	for _, c := range validManifests {
		It("accepts unchanged: "+c.name, func(ctx SpecContext) {
			obj := parseManifest(c.manifest)
			expectStoredUnchanged(ctx, obj, c.defaults)
		})
	}

	It("accepts every sample in config/samples unchanged", func(ctx SpecContext) {
		files, err := filepath.Glob(filepath.Join(samplesDir, "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		for _, f := range files {
			for _, obj := range readManifests(f) {
				By(fmt.Sprintf("%s: %s %s", filepath.Base(f), obj.GetKind(), obj.GetName()))
				var defaults map[string]any
				if obj.GroupVersionKind() == functionGVK {
					if _, set, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "replicas"); !set {
						defaults = map[string]any{"replicas": int64(1)}
					}
				}
				obj.SetName("sample-" + obj.GetName())
				expectStoredUnchanged(ctx, obj, defaults)
			}
		}
	})

	It("scales a Function through the scale subresource", func(ctx SpecContext) {
		fn := parseManifest("apiVersion: serverless.kyma-project.io/v1alpha2\nkind: Function\nmetadata:\n  name: scaled\nspec:\n" + indent(validInline))
		fn.SetNamespace(namespace)
		Expect(k8s.Create(ctx, fn)).To(Succeed())

		scale := &unstructured.Unstructured{}
		scale.SetGroupVersionKind(schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"})
		Expect(k8s.SubResource("scale").Get(ctx, fn, scale)).To(Succeed())
		replicas, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas")
		Expect(replicas).To(Equal(int64(1)))

		Expect(unstructured.SetNestedField(scale.Object, int64(3), "spec", "replicas")).To(Succeed())
		Expect(k8s.SubResource("scale").Update(ctx, fn, client.WithSubResourceBody(scale))).To(Succeed())

		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(functionGVK)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
		replicas, _, _ = unstructured.NestedInt64(got.Object, "spec", "replicas")
		Expect(replicas).To(Equal(int64(3)))
	})
})

// expectRefused creates an object of kind gvk with the case's spec and expects the API
// server to refuse it as invalid, with the case's message in the error.
func expectRefused(ctx context.Context, gvk schema.GroupVersionKind, c refusal) {
	spec := map[string]any{}
	Expect(yaml.Unmarshal([]byte(c.spec), &spec)).To(Succeed(), c.spec)
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	obj.SetGroupVersionKind(gvk)
	obj.SetGenerateName("invalid-")
	obj.SetNamespace(namespace)

	err := k8s.Create(ctx, obj, client.DryRunAll)
	Expect(err).To(HaveOccurred(), "the API server accepted %s:\n%s", c.name, c.spec)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "not an Invalid error: %v", err)
	Expect(err.Error()).To(ContainSubstring(c.message))
	GinkgoWriter.Printf("%s refused: %v\n", c.name, err)
}

// expectStoredUnchanged creates obj with strict field validation (so no field is silently
// dropped) and expects the stored spec to equal the submitted one plus the given defaults.
func expectStoredUnchanged(ctx context.Context, obj *unstructured.Unstructured, defaults map[string]any) {
	obj.SetNamespace(namespace)
	want, _, err := unstructured.NestedMap(obj.Object, "spec")
	Expect(err).NotTo(HaveOccurred())
	if want == nil {
		want = map[string]any{}
	}
	for k, v := range defaults {
		want[k] = v
	}
	Expect(k8s.Create(ctx, obj.DeepCopy(), client.FieldValidation("Strict"))).To(Succeed())

	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(obj.GroupVersionKind())
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
	gotSpec, _, err := unstructured.NestedMap(got.Object, "spec")
	Expect(err).NotTo(HaveOccurred())
	if gotSpec == nil {
		gotSpec = map[string]any{}
	}
	Expect(normalize(gotSpec)).To(Equal(normalize(want)))
	Expect(got.GetAnnotations()).To(Equal(obj.GetAnnotations()))
	Expect(got.GetLabels()).To(Equal(obj.GetLabels()))
	Expect(got.GetFinalizers()).To(Equal(obj.GetFinalizers()))
	if len(obj.GetFinalizers()) > 0 {
		got.SetFinalizers(nil)
		Expect(k8s.Update(ctx, got)).To(Succeed())
	}
}

// normalize makes numbers comparable: whole numbers become int64, as the API server returns them.
func normalize(obj map[string]any) map[string]any {
	data, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	out := map[string]any{}
	Expect(utiljson.Unmarshal(data, &out)).To(Succeed())
	return out
}

func parseManifest(manifest string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(manifest), &obj.Object)).To(Succeed(), manifest)
	return obj
}

func readManifests(path string) []*unstructured.Unstructured {
	f, err := os.Open(path)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = f.Close() }()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			Expect(errors.Is(err, io.EOF)).To(BeTrue(), "%s: %v", path, err)
			break
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

func distinct(cases []refusal) int {
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.spec] = true
	}
	return len(seen)
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
