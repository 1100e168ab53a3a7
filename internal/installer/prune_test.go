package installer

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestProtection(t *testing.T) {
	const module = "sample"
	ours := map[string]string{ModuleLabel: module}
	pvc := ObjectRef{Version: "v1", Kind: "PersistentVolumeClaim", Namespace: "ns", Name: "data"}
	pv := ObjectRef{Version: "v1", Kind: "PersistentVolume", Name: "data"}
	secret := ObjectRef{Version: "v1", Kind: "Secret", Namespace: "ns", Name: "creds"}
	fakePVC := ObjectRef{Group: "other.example.test", Version: "v1", Kind: "PersistentVolumeClaim", Namespace: "ns", Name: "data"}

	tests := []struct {
		name        string
		ref         ObjectRef
		labels      map[string]string
		annotations map[string]string
		want        RetainReason
	}{
		{name: "our ConfigMap", ref: coreConfigMap, labels: ours, want: ""},
		{name: "our Secret", ref: secret, labels: ours, want: ""},
		{name: "Secret without labels", ref: secret, want: RetainNotOwned},
		{name: "Secret of another module", ref: secret, labels: map[string]string{ModuleLabel: "other"}, want: RetainNotOwned},
		{name: "our PersistentVolumeClaim", ref: pvc, labels: ours, want: RetainUserData},
		{name: "foreign PersistentVolumeClaim", ref: pvc, want: RetainUserData},
		{name: "our PersistentVolume", ref: pv, labels: ours, want: RetainUserData},
		{name: "custom kind named PersistentVolumeClaim", ref: fakePVC, labels: ours, want: ""},
		{name: "keep policy", ref: deployment, labels: ours, annotations: map[string]string{ResourcePolicyAnnotation: "keep"}, want: RetainKeepPolicy},
		{name: "other resource policy", ref: deployment, labels: ours, annotations: map[string]string{ResourcePolicyAnnotation: "delete"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := &metav1.ObjectMeta{Labels: tt.labels, Annotations: tt.annotations}
			got := protection(tt.ref, obj, module)
			if tt.want == "" {
				g.Expect(got).To(BeNil())
				return
			}
			g.Expect(got).NotTo(BeNil())
			g.Expect(got.Reason).To(Equal(tt.want))
			g.Expect(got.Ref).To(Equal(tt.ref))
			g.Expect(got.Message).NotTo(BeEmpty())
		})
	}
}

func TestServedKind(t *testing.T) {
	crd := func(versions ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"group": "example.test", "names": map[string]any{"kind": "Widget"}, "versions": versions,
		}}}
	}
	v := func(name string, served, storage bool) any {
		return map[string]any{"name": name, "served": served, "storage": storage}
	}
	tests := []struct {
		name        string
		crd         *unstructured.Unstructured
		wantVersion string
	}{
		{name: "storage version", crd: crd(v("v1alpha1", true, false), v("v1", true, true)), wantVersion: "v1"},
		{name: "first served when storage is not served", crd: crd(v("v1beta1", true, false), v("v1", false, true)), wantVersion: "v1beta1"},
		{name: "nothing served", crd: crd(v("v1", false, true)), wantVersion: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			gvk, ok := servedKind(tt.crd)
			g.Expect(ok).To(Equal(tt.wantVersion != ""))
			if ok {
				g.Expect(gvk.Version).To(Equal(tt.wantVersion))
				g.Expect(gvk.Kind).To(Equal("Widget"))
				g.Expect(gvk.Group).To(Equal("example.test"))
			}
		})
	}
}

func TestRemovalTiers(t *testing.T) {
	g := NewWithT(t)
	ns := ObjectRef{Version: "v1", Kind: "Namespace", Name: "ws"}
	sa := ObjectRef{Version: "v1", Kind: "ServiceAccount", Namespace: "ns", Name: "app"}
	svc := ObjectRef{Version: "v1", Kind: "Service", Namespace: "ns", Name: "app"}
	widget := ObjectRef{Group: "example.test", Version: "v1", Kind: "Widget", Namespace: "ns", Name: "w"}
	fakeDeployment := ObjectRef{Group: "other.example.test", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "app"}

	got := removalTiers([]ObjectRef{widgetsCRD, ns, sa, coreConfigMap, svc, deployment, widget, fakeDeployment, otherConfigMap})
	g.Expect(got).To(Equal([][]ObjectRef{
		{widget, fakeDeployment, otherConfigMap},
		{deployment},
		{svc},
		{coreConfigMap},
		{sa},
		{ns},
		{widgetsCRD},
	}))
}
