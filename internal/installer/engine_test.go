package installer

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// Engine tests on the fake client: they cover the engine's decisions. The
// API server's own behaviour (server-side apply, garbage collection, CRD
// establishment) is covered by the integration tests.

const (
	testModule = "sample"
	testNS     = "apps"
)

var testOpts = Options{
	FieldManager: manager, Module: testModule, ManagedBy: manager,
	InventoryNamespace: "kyma-system", InventoryName: "sample-inventory",
}

// writeCounter counts write calls made through a client.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeCounter) record(verb string, obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, verb+" "+obj.GetObjectKind().GroupVersionKind().Kind+" "+obj.GetName())
}

func (w *writeCounter) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.writes
	w.writes = nil
	return out
}

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "Service"},
		{Version: "v1", Kind: "ServiceAccount"}, {Version: "v1", Kind: "PersistentVolumeClaim"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "example.test", Version: "v1", Kind: "Widget"},
		{Group: "other.example.test", Version: "v1", Kind: "ConfigMap"},
	} {
		m.Add(gvk, meta.RESTScopeNamespace)
	}
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "PersistentVolume"},
		{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"},
	} {
		m.Add(gvk, meta.RESTScopeRoot)
	}
	return m
}

func newFakeEngine(t *testing.T, objs ...client.Object) (*Engine, client.Client, *writeCounter) {
	t.Helper()
	counter := &writeCounter{}
	c := fake.NewClientBuilder().
		WithScheme(clientgoscheme.Scheme).
		WithRESTMapper(testMapper()).
		WithReturnManagedFields().
		WithObjects(objs...).
		WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				counter.record("create", obj)
				return c.Create(ctx, obj, opts...)
			},
			Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
				counter.record("update", obj)
				return c.Update(ctx, obj, opts...)
			},
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
				counter.record("patch", obj)
				return c.Patch(ctx, obj, patch, opts...)
			},
			Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
				counter.record("delete", obj)
				return c.Delete(ctx, obj, opts...)
			},
			Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
				if u, ok := obj.(interface{ GetName() string }); ok {
					counter.mu.Lock()
					counter.writes = append(counter.writes, "apply "+u.GetName())
					counter.mu.Unlock()
				}
				return c.Apply(ctx, obj, opts...)
			},
		}).
		Build()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testOpts.InventoryNamespace}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	counter.take()
	return New(c, c, testOpts), c, counter
}

func obj(apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name}}}
	if namespace != "" {
		u.SetNamespace(namespace)
	}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

func manifest(version string, objs ...*unstructured.Unstructured) *Manifest {
	m := &Manifest{Objects: objs, ChartVersion: version, ValuesHash: "hash-" + version, Namespace: testNS}
	sortForInstall(m.Objects)
	return m
}

func widgetCRD() *unstructured.Unstructured {
	return obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.test", map[string]any{
		"spec": map[string]any{"group": "example.test", "scope": "Namespaced",
			"names":    map[string]any{"kind": "Widget", "plural": "widgets"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true}}},
	})
}

func TestApplyInstallsThenWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e, c, writes := newFakeEngine(t)
	m := manifest("1.0.0",
		obj("v1", "ConfigMap", "", "settings", map[string]any{"data": map[string]any{"a": "1"}}),
		obj("v1", "Namespace", testNS, "workspace", nil),
	)

	res, err := e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(ApplyResult{Applied: 2}))
	g.Expect(writes.take()).To(Equal([]string{"create ConfigMap sample-inventory", "apply workspace", "apply settings", "update ConfigMap sample-inventory"}))

	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "settings"}, cm)).To(Succeed())
	g.Expect(cm.Labels).To(Equal(map[string]string{ModuleLabel: testModule, ManagedByLabel: manager}))
	ws := &corev1.Namespace{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "workspace"}, ws)).To(Succeed(), "cluster-scoped objects lose a namespace")

	inv, err := e.Inventory(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inv.ValuesHash).To(Equal("hash-1.0.0"))
	g.Expect(inv.Objects).To(HaveLen(2))
	for _, o := range inv.Objects {
		g.Expect(o.Fingerprint).NotTo(BeEmpty())
		g.Expect(o.Stale).To(BeFalse())
	}
	invCM := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: "kyma-system", Name: "sample-inventory"}, invCM)).To(Succeed())
	g.Expect(invCM.Labels).To(HaveKeyWithValue(ModuleLabel, testModule))

	res, err = e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res).To(Equal(ApplyResult{Skipped: 2, UpToDate: true}))
	g.Expect(writes.take()).To(BeEmpty())

	kinds, err := e.OwnedKinds(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kinds).To(Equal([]schema.GroupVersionKind{{Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "ConfigMap"}}))
}

func TestApplyRepairsOnlyDriftedObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e, c, writes := newFakeEngine(t)
	m := manifest("1.0.0",
		obj("v1", "ConfigMap", "", "settings", map[string]any{"data": map[string]any{"a": "1"}}),
		obj("v1", "ConfigMap", "", "other", map[string]any{"data": map[string]any{"b": "1"}}),
		obj("apps/v1", "Deployment", "", "app", map[string]any{"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "x"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "x"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app:1"}}}},
		}}),
	)
	_, err := e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(e.Drifted(ctx)).To(BeEmpty())

	// A status update by another controller is not drift.
	deploy := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "app"}, deploy)).To(Succeed())
	deploy.Status.Replicas = 1
	g.Expect(c.Status().Update(ctx, deploy, client.FieldOwner("kube-controller-manager"))).To(Succeed())
	g.Expect(e.Drifted(ctx)).To(BeEmpty())

	// Someone else changes the image: ownership of that field moves.
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "app"}, deploy)).To(Succeed())
	deploy.Spec.Template.Spec.Containers[0].Image = "app:hacked"
	g.Expect(c.Update(ctx, deploy, client.FieldOwner("kubectl-set"))).To(Succeed())
	// Someone deletes a ConfigMap.
	g.Expect(c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "other"}})).To(Succeed())
	writes.take()

	g.Expect(e.Drifted(ctx)).To(ConsistOf(
		ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: testNS, Name: "app"},
		ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: testNS, Name: "other"},
	))
	g.Expect(writes.take()).To(BeEmpty(), "Drifted only reads")

	res, err := e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Applied).To(Equal(2))
	g.Expect(res.Skipped).To(Equal(1))
	g.Expect(res.Drifted).To(HaveLen(2))
	g.Expect(writes.take()).To(ConsistOf("apply other", "apply app", "update ConfigMap sample-inventory"))

	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "app"}, deploy)).To(Succeed())
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(Equal("app:1"))
	g.Expect(e.Drifted(ctx)).To(BeEmpty())

	res, err = e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.UpToDate).To(BeTrue())
	g.Expect(writes.take()).To(BeEmpty())
}

func TestApplyPrunesGroupAwareAndKeepsProtectedObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e, c, _ := newFakeEngine(t)
	settings := obj("v1", "ConfigMap", "", "settings", map[string]any{"data": map[string]any{"a": "1"}})
	v1 := manifest("1.0.0",
		widgetCRD(),
		settings,
		obj("v1", "Secret", "", "credentials", map[string]any{"stringData": map[string]any{"token": "x"}}),
		obj("v1", "Secret", "", "generated", nil),
		obj("v1", "PersistentVolumeClaim", "", "data", map[string]any{"spec": map[string]any{"accessModes": []any{"ReadWriteOnce"}}}),
		obj("v1", "ServiceAccount", "", "app", nil),
	)
	_, err := e.Apply(ctx, v1)
	g.Expect(err).NotTo(HaveOccurred())

	// An unrelated object with the same kind, namespace and name in another
	// API group, even labelled for the module.
	lookalike := obj("other.example.test/v1", "ConfigMap", testNS, "settings", nil)
	lookalike.SetLabels(map[string]string{ModuleLabel: testModule})
	g.Expect(c.Create(ctx, lookalike)).To(Succeed())
	// A user took over the credentials Secret.
	secret := &corev1.Secret{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: testNS, Name: "credentials"}, secret)).To(Succeed())
	secret.Labels = nil
	g.Expect(c.Update(ctx, secret)).To(Succeed())
	// A user has a Widget.
	widget := obj("example.test/v1", "Widget", testNS, "mine", nil)
	g.Expect(c.Create(ctx, widget)).To(Succeed())

	v2 := manifest("2.0.0", obj("v1", "ServiceAccount", "", "app", nil), obj("v1", "ConfigMap", "", "added", nil))
	res, err := e.Apply(ctx, v2)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Applied).To(Equal(2))
	g.Expect(res.Pruned).To(Equal(2), "core ConfigMap settings and Secret generated")
	g.Expect(res.Retained).To(ConsistOf(
		HaveField("Reason", RetainInUse),
		HaveField("Reason", RetainNotOwned),
		HaveField("Reason", RetainUserData),
	))

	g.Expect(exists(ctx, c, "v1", "ConfigMap", testNS, "settings")).To(BeFalse())
	g.Expect(exists(ctx, c, "v1", "Secret", testNS, "generated")).To(BeFalse())
	g.Expect(exists(ctx, c, "other.example.test/v1", "ConfigMap", testNS, "settings")).To(BeTrue())
	g.Expect(exists(ctx, c, "v1", "Secret", testNS, "credentials")).To(BeTrue())
	g.Expect(exists(ctx, c, "v1", "PersistentVolumeClaim", testNS, "data")).To(BeTrue())
	g.Expect(exists(ctx, c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.test")).To(BeTrue())
	g.Expect(exists(ctx, c, "v1", "ConfigMap", testNS, "added")).To(BeTrue())

	inv, err := e.Inventory(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inv.staleRefs()).To(ConsistOf(RefOf(widgetCRD())), "only the CRD in use stays recorded")

	// Nothing to apply, CRD still in use: nothing written.
	res, err = e.Apply(ctx, v2)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.UpToDate).To(BeTrue())
	g.Expect(res.Retained).To(ConsistOf(HaveField("Reason", RetainInUse)))

	g.Expect(c.Delete(ctx, widget)).To(Succeed())
	res, err = e.Apply(ctx, v2)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Pruned).To(Equal(1))
	g.Expect(exists(ctx, c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.test")).To(BeFalse())
	inv, err = e.Inventory(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inv.staleRefs()).To(BeEmpty())
}

func TestApplyRecordsObjectsBeforeCreatingThem(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e, c, _ := newFakeEngine(t)
	_, err := e.Apply(ctx, manifest("1.0.0", obj("v1", "ConfigMap", "", "a", nil)))
	g.Expect(err).NotTo(HaveOccurred())

	// The second object cannot be applied (its kind is unknown): the
	// inventory must nevertheless know about it, and about the first one.
	broken := manifest("2.0.0", obj("v1", "ConfigMap", "", "b", nil), obj("nope.example.test/v1", "Thing", "", "t", nil))
	_, err = e.Apply(ctx, broken)
	g.Expect(err).To(MatchError(ContainSubstring("scope of Thing.nope.example.test t")))

	crash := manifest("2.0.0", obj("v1", "ConfigMap", "", "b", nil), obj("v1", "ConfigMap", "", "c", nil))
	calls := 0
	failing := New(interceptor.NewClient(c.(client.WithWatch), interceptor.Funcs{
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			calls++
			if calls == 2 {
				return apierrors.NewServiceUnavailable("crash")
			}
			return c.Apply(ctx, obj, opts...)
		},
	}), c, testOpts)
	_, err = failing.Apply(ctx, crash)
	g.Expect(err).To(MatchError(ContainSubstring("apply ConfigMap apps/c")))
	inv, err := e.Inventory(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inv.ValuesHash).To(Equal("hash-1.0.0"), "the failed revision is not recorded as applied")
	g.Expect(inv.refs()).To(ConsistOf(
		ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: testNS, Name: "a"},
		ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: testNS, Name: "b"},
		ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: testNS, Name: "c"},
	))

	// A later revision without b and c prunes them (and a).
	_, err = e.Apply(ctx, manifest("3.0.0", obj("v1", "ConfigMap", "", "d", nil)))
	g.Expect(err).NotTo(HaveOccurred())
	for _, name := range []string{"a", "b", "c"} {
		g.Expect(exists(ctx, c, "v1", "ConfigMap", testNS, name)).To(BeFalse(), name)
	}
}

func TestUninstall(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	e, c, writes := newFakeEngine(t)
	m := manifest("1.0.0",
		widgetCRD(),
		obj("v1", "Namespace", "", "workspace", nil),
		obj("v1", "ConfigMap", "", "settings", nil),
		obj("v1", "Secret", "", "credentials", nil),
		obj("v1", "PersistentVolumeClaim", "", "data", nil),
		obj("v1", "ServiceAccount", "", "app", nil),
		obj("example.test/v1", "Widget", "", "default", nil),
	)
	_, err := e.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	userWidget := obj("example.test/v1", "Widget", "team", "mine", nil)
	g.Expect(c.Create(ctx, userWidget)).To(Succeed())
	userSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "workspace", Name: "user"}}
	g.Expect(c.Create(ctx, userSecret)).To(Succeed())
	writes.take()

	res, err := e.UninstallWithResult(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Done).To(BeFalse())
	g.Expect(res.Retained).To(ConsistOf(
		HaveField("Reason", RetainUserData), // PVC
		HaveField("Reason", RetainUserData), // Namespace with a user Secret
		HaveField("Reason", RetainInUse),
	))
	g.Expect(writes.take()).To(Equal([]string{
		"delete Widget default", "delete Secret credentials", "delete ConfigMap settings", "delete ServiceAccount app",
		"update ConfigMap sample-inventory",
	}), "reverse tier order")
	g.Expect(exists(ctx, c, "v1", "PersistentVolumeClaim", testNS, "data")).To(BeTrue())
	g.Expect(exists(ctx, c, "v1", "Namespace", "", "workspace")).To(BeTrue())

	done, err := e.Uninstall(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(done).To(BeFalse(), "a Widget still exists")
	g.Expect(writes.take()).To(BeEmpty())

	g.Expect(c.Delete(ctx, userWidget)).To(Succeed())
	done, err = e.Uninstall(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(done).To(BeTrue())
	g.Expect(exists(ctx, c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.test")).To(BeFalse())
	g.Expect(exists(ctx, c, "v1", "ConfigMap", "kyma-system", "sample-inventory")).To(BeFalse())
	g.Expect(exists(ctx, c, "v1", "PersistentVolumeClaim", testNS, "data")).To(BeTrue())

	done, err = e.Uninstall(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(done).To(BeTrue(), "idempotent")
}

func exists(ctx context.Context, c client.Client, apiVersion, kind, namespace, name string) bool {
	u := obj(apiVersion, kind, namespace, name, nil)
	err := c.Get(ctx, client.ObjectKeyFromObject(u), u)
	if err != nil && !apierrors.IsNotFound(err) {
		panic(err)
	}
	return err == nil
}
