package installer

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/kyma-serverless/serverless/test/cluster"
)

// The integration tests run the engine against a real API server with
// kube-controller-manager and kwok nodes. They share one cluster, started on
// first use (or attached through LOCAL_CLUSTER_KUBECONFIG) and stopped by
// TestMain. -short skips them.

var (
	clusterOnce sync.Once
	sharedEnv   *cluster.Cluster
	clusterErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil {
		if err := sharedEnv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop local cluster: %v\n", err)
		}
	}
	os.Exit(code)
}

func localCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips the integration tests, which need the local cluster (run without -short)")
	}
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		sharedEnv, clusterErr = cluster.ForSuite(ctx, cluster.Options{Nodes: 1})
	})
	if clusterErr != nil {
		t.Fatalf("local cluster: %v", clusterErr)
	}
	return sharedEnv
}

// requestLog records the write requests sent through a rest.Config.
type requestLog struct {
	mu     sync.Mutex
	writes []string
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			l.mu.Lock()
			l.writes = append(l.writes, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.writes
	l.writes = nil
	return out
}

// harness is an engine wired the way an operator wires it: a cache
// restricted to the module's label behind the client, an uncached reader,
// and a separate admin client standing for users and other controllers.
type harness struct {
	engine  *Engine
	admin   client.Client
	writes  *requestLog
	ns      string
	release string
}

func newHarness(t *testing.T, module string) *harness {
	t.Helper()
	env := localCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	base := env.RESTConfig()
	base.QPS, base.Burst = 100, 200

	admin, err := client.New(base, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}

	log := &requestLog{}
	cfg := rest.CopyConfig(base)
	cfg.Wrap(log.wrap)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	informers, err := cache.New(cfg, cache.Options{
		HTTPClient: httpClient, Scheme: scheme, Mapper: mapper,
		DefaultLabelSelector: OwnedLabelSelector(module),
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	cached, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: scheme, Mapper: mapper,
		Cache: &client.CacheOptions{Reader: informers, Unstructured: true}})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := client.New(cfg, client.Options{HTTPClient: httpClient, Scheme: scheme, Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}

	suffix := rand.String(5)
	h := &harness{admin: admin, writes: log, ns: "installer-" + suffix, release: "demo-" + suffix}
	testNamespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: h.ns}}
	if err := admin.Create(ctx, testNamespace); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Delete(context.Background(), testNamespace) })
	h.engine = New(cached, reader, Options{
		FieldManager: module + "-operator", Module: module, ManagedBy: module + "-operator",
		InventoryNamespace: h.ns, InventoryName: module + "-inventory",
	})
	return h
}

func (h *harness) render(t *testing.T, chart string) *Manifest {
	t.Helper()
	m, err := Render(Release{ChartDir: "testdata/charts/" + chart, Name: h.release, Namespace: h.ns,
		Values: map[string]any{"storageClassName": h.release}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (h *harness) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: h.ns, Name: name}
}

// get reads an object with the admin client; false when it does not exist.
func (h *harness) get(g Gomega, apiVersion, kind string, key client.ObjectKey) (*unstructured.Unstructured, bool) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := h.admin.Get(context.Background(), key, u)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	g.Expect(err).NotTo(HaveOccurred())
	return u, true
}

func (h *harness) exists(g Gomega, apiVersion, kind string, key client.ObjectKey) bool {
	_, ok := h.get(g, apiVersion, kind, key)
	return ok
}

// createVolumes pre-binds a PersistentVolume to each claim the charts make,
// so that the claims become Bound without a provisioner.
func (h *harness) createVolumes(t *testing.T, claims ...string) {
	t.Helper()
	for _, claim := range claims {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: h.release + "-" + claim},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName:              h.release,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + claim}},
				ClaimRef:                      &corev1.ObjectReference{Namespace: h.ns, Name: h.release + "-" + claim},
			},
		}
		if err := h.admin.Create(context.Background(), pv); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.admin.Delete(context.Background(), pv) })
	}
}

func (h *harness) createCR(t *testing.T, apiVersion, kind, name string, labels map[string]string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(h.ns)
	u.SetName(name)
	u.SetLabels(labels)
	if err := h.admin.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// onlyRestored matches the writes of a pass that re-applies the Deployment
// alone: its apply, and an inventory update only if the fields it owns
// afterwards differ from those recorded.
func onlyRestored(h *harness, module string) OmegaMatcher {
	apply := "PATCH /apis/apps/v1/namespaces/" + h.ns + "/deployments/" + h.release
	inventory := "PUT /api/v1/namespaces/" + h.ns + "/configmaps/" + module + "-inventory"
	return Or(Equal([]string{apply}), Equal([]string{apply, inventory}))
}

const (
	eventuallyTimeout = 90 * time.Second
	pollInterval      = 250 * time.Millisecond
)

func TestIntegrationLifecycle(t *testing.T) {
	const module = "demo"
	h := newHarness(t, module)
	ctx := context.Background()
	v1 := h.render(t, "demo-v1")
	h.createVolumes(t, "data", "cache")
	deployKey := h.key(h.release)

	ok := t.Run("install v1", func(t *testing.T) {
		g := NewWithT(t)
		res, err := h.engine.Apply(ctx, v1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Applied).To(Equal(len(v1.Objects)))
		g.Expect(res.UpToDate).To(BeFalse())

		for _, o := range v1.Objects {
			key := client.ObjectKey{Name: o.GetName(), Namespace: o.GetNamespace()}
			if key.Namespace == "" && o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" &&
				!strings.HasPrefix(o.GetKind(), "Cluster") {
				key.Namespace = h.ns
			}
			live, found := h.get(g, o.GetAPIVersion(), o.GetKind(), key)
			g.Expect(found).To(BeTrue(), RefOf(o).String())
			g.Expect(live.GetLabels()).To(HaveKeyWithValue(ModuleLabel, module), RefOf(o).String())
			g.Expect(live.GetLabels()).To(HaveKeyWithValue(ManagedByLabel, module+"-operator"), RefOf(o).String())
		}
		g.Expect(h.exists(g, "batch/v1", "Job", h.key(h.release+"-hook"))).To(BeFalse(), "hooks are not applied")

		g.Eventually(func(g Gomega) {
			r, err := h.engine.Verify(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.NotReady).To(BeEmpty())
			g.Expect(r.Ready).To(BeTrue())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})
	if !ok {
		return
	}

	ok = t.Run("unchanged apply writes nothing", func(t *testing.T) {
		g := NewWithT(t)
		// The Deployment's status kept changing meanwhile; that is not drift.
		g.Eventually(func(g Gomega) {
			g.Expect(h.engine.Drifted(ctx)).To(BeEmpty())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		h.writes.take()
		for range 3 {
			res, err := h.engine.Apply(ctx, v1)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.UpToDate).To(BeTrue())
			g.Expect(res.Applied).To(BeZero())
		}
		g.Expect(h.writes.take()).To(BeEmpty())

		// Replacing the Pod makes kube-controller-manager rewrite the
		// Deployment's status; that is still nothing to apply.
		deploy := &appsv1.Deployment{}
		g.Expect(h.admin.Get(ctx, deployKey, deploy)).To(Succeed())
		before := deploy.ResourceVersion
		g.Expect(h.admin.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(h.ns),
			client.MatchingLabels{"app.kubernetes.io/instance": h.release})).To(Succeed())
		g.Eventually(func(g Gomega) {
			res, err := h.engine.Apply(ctx, v1)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.UpToDate).To(BeTrue())
			g.Expect(h.admin.Get(ctx, deployKey, deploy)).To(Succeed())
			g.Expect(deploy.ResourceVersion).NotTo(Equal(before))
			g.Expect(deploy.Status.AvailableReplicas).To(BeEquivalentTo(1))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		g.Expect(h.writes.take()).To(BeEmpty())
	})
	if !ok {
		return
	}

	ok = t.Run("image changed by another field manager is restored", func(t *testing.T) {
		g := NewWithT(t)
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"example.test/evil:6.6.6"}]}}}}`)
		deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: h.release}}
		g.Expect(h.admin.Patch(ctx, deploy, client.RawPatch(types.StrategicMergePatchType, patch), client.FieldOwner("kubectl-set"))).To(Succeed())

		ref := ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: h.ns, Name: h.release}
		g.Eventually(func(g Gomega) {
			g.Expect(h.engine.Drifted(ctx)).To(Equal([]ObjectRef{ref}))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

		h.writes.take()
		res, err := h.engine.Apply(ctx, v1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Applied).To(Equal(1))
		g.Expect(res.Drifted).To(Equal([]ObjectRef{ref}))
		g.Expect(h.writes.take()).To(onlyRestored(h, module))
		g.Expect(h.admin.Get(ctx, deployKey, deploy)).To(Succeed())
		g.Expect(deploy.Spec.Template.Spec.Containers[0].Image).To(Equal("example.test/demo:1.0.0"))
	})
	if !ok {
		return
	}

	ok = t.Run("deleted Deployment is recreated", func(t *testing.T) {
		g := NewWithT(t)
		deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: h.release}}
		g.Expect(h.admin.Delete(ctx, deploy)).To(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(h.engine.Drifted(ctx)).To(HaveLen(1))
			g.Expect(h.exists(g, "apps/v1", "Deployment", deployKey)).To(BeFalse())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())

		h.writes.take()
		res, err := h.engine.Apply(ctx, v1)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Applied).To(Equal(1))
		g.Expect(h.writes.take()).To(onlyRestored(h, module))
		g.Expect(h.exists(g, "apps/v1", "Deployment", deployKey)).To(BeTrue())
		g.Eventually(func(g Gomega) {
			r, err := h.engine.Verify(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.Ready).To(BeTrue())
			g.Expect(h.engine.Drifted(ctx)).To(BeEmpty())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	})
	if !ok {
		return
	}

	// Objects the upgrade must not touch.
	lookalikeCRD := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "configmaps.lookalike.example.test"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "lookalike.example.test", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "ConfigMap", Plural: "configmaps", ListKind: "ConfigMapList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true)}}}},
		},
	}
	t.Cleanup(func() { _ = h.admin.Delete(context.Background(), lookalikeCRD) })

	ok = t.Run("upgrade to v2 prunes group-aware and keeps user data", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(h.admin.Create(ctx, lookalikeCRD)).To(Succeed())
		g.Eventually(func(g Gomega) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			g.Expect(h.admin.Get(ctx, client.ObjectKeyFromObject(lookalikeCRD), crd)).To(Succeed())
			r, err := toUnstructured(crd, apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
			g.Expect(err).NotTo(HaveOccurred())
			s, err := status.Compute(r)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Status).To(Equal(status.CurrentStatus))
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		var lookalike *unstructured.Unstructured
		g.Eventually(func() error {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("lookalike.example.test/v1")
			u.SetKind("ConfigMap")
			u.SetNamespace(h.ns)
			u.SetName(h.release + "-legacy")
			u.SetLabels(map[string]string{ModuleLabel: module})
			lookalike = u
			return h.admin.Create(ctx, u)
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		widget := h.createCR(t, "installer.example.test/v1", "Widget", "mine", nil)
		userSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "user-secret"},
			StringData: map[string]string{"password": "hunter2"}}
		g.Expect(h.admin.Create(ctx, userSecret)).To(Succeed())
		// A user replaces the chart's Secret with their own.
		creds := &corev1.Secret{}
		g.Expect(h.admin.Get(ctx, h.key(h.release+"-credentials"), creds)).To(Succeed())
		creds.Labels = map[string]string{"owner": "user"}
		g.Expect(h.admin.Update(ctx, creds, client.FieldOwner("user"))).To(Succeed())

		v2 := h.render(t, "demo-v2")
		res, err := h.engine.Apply(ctx, v2)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Applied).To(Equal(len(v2.Objects)))
		g.Expect(res.Retained).To(ConsistOf(
			And(HaveField("Ref.Kind", "CustomResourceDefinition"), HaveField("Reason", RetainInUse)),
			And(HaveField("Ref.Kind", "Secret"), HaveField("Reason", RetainNotOwned)),
			And(HaveField("Ref.Kind", "PersistentVolumeClaim"), HaveField("Reason", RetainUserData)),
		))

		g.Expect(h.exists(g, "v1", "ConfigMap", h.key(h.release+"-legacy"))).To(BeFalse(), "dropped ConfigMap pruned")
		g.Expect(h.exists(g, "lookalike.example.test/v1", "ConfigMap", h.key(h.release+"-legacy"))).To(BeTrue(),
			"same kind and name in another API group untouched")
		g.Expect(h.exists(g, "v1", "ConfigMap", h.key(h.release+"-added"))).To(BeTrue())
		g.Expect(h.exists(g, "v1", "Secret", h.key(h.release+"-credentials"))).To(BeTrue())
		g.Expect(h.exists(g, "v1", "Secret", h.key("user-secret"))).To(BeTrue())
		pvc, found := h.get(g, "v1", "PersistentVolumeClaim", h.key(h.release+"-data"))
		g.Expect(found).To(BeTrue())
		g.Expect(pvc.GetDeletionTimestamp()).To(BeNil())
		g.Expect(h.exists(g, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
			client.ObjectKey{Name: "widgets.installer.example.test"})).To(BeTrue(), "CRD kept while a Widget exists")

		inv, err := h.engine.Inventory(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(inv.ChartVersion).To(Equal("2.0.0"))
		g.Expect(inv.staleRefs()).To(ConsistOf(HaveField("Name", "widgets.installer.example.test")))

		g.Expect(h.admin.Delete(ctx, widget)).To(Succeed())
		g.Eventually(func(g Gomega) {
			_, err := h.engine.Apply(ctx, v2)
			g.Expect(err).NotTo(HaveOccurred())
			inv, err := h.engine.Inventory(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(inv.staleRefs()).To(BeEmpty())
		}).WithTimeout(eventuallyTimeout).WithPolling(time.Second).Should(Succeed())
		g.Expect(h.exists(g, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
			client.ObjectKey{Name: "widgets.installer.example.test"})).To(BeFalse(), "unused CRD pruned")

		g.Eventually(func(g Gomega) {
			r, err := h.engine.Verify(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.NotReady).To(BeEmpty())
		}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
		g.Expect(h.exists(g, "lookalike.example.test/v1", "ConfigMap", client.ObjectKeyFromObject(lookalike))).To(BeTrue())
	})
	if !ok {
		return
	}

	t.Run("uninstall keeps user data and waits for custom resources", func(t *testing.T) {
		g := NewWithT(t)
		gadget := h.createCR(t, "installer.example.test/v1", "Gadget", "mine", nil)

		g.Eventually(func(g Gomega) {
			res, err := h.engine.UninstallWithResult(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Done).To(BeFalse())
			g.Expect(res.Deleting).To(BeEmpty())
			g.Expect(res.Retained).To(ContainElement(And(
				HaveField("Ref.Name", "gadgets.installer.example.test"), HaveField("Reason", RetainInUse))))
		}).WithTimeout(eventuallyTimeout).WithPolling(time.Second).Should(Succeed())
		for _, gone := range []struct{ apiVersion, kind, name string }{
			{"apps/v1", "Deployment", h.release},
			{"v1", "Service", h.release},
			{"v1", "ConfigMap", h.release + "-config"},
			{"v1", "ServiceAccount", h.release},
		} {
			g.Expect(h.exists(g, gone.apiVersion, gone.kind, h.key(gone.name))).To(BeFalse(), gone.kind)
		}
		g.Expect(h.exists(g, "rbac.authorization.k8s.io/v1", "ClusterRole", client.ObjectKey{Name: h.release + "-reader"})).To(BeFalse())
		g.Expect(h.exists(g, "v1", "Namespace", client.ObjectKey{Name: h.release + "-ws"})).To(BeFalse())
		g.Expect(h.exists(g, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
			client.ObjectKey{Name: "gadgets.installer.example.test"})).To(BeTrue())

		g.Expect(h.admin.Delete(ctx, gadget)).To(Succeed())
		g.Eventually(func(g Gomega) {
			done, err := h.engine.Uninstall(ctx)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(done).To(BeTrue())
		}).WithTimeout(eventuallyTimeout).WithPolling(time.Second).Should(Succeed())

		g.Expect(h.exists(g, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
			client.ObjectKey{Name: "gadgets.installer.example.test"})).To(BeFalse())
		g.Expect(h.exists(g, "v1", "ConfigMap", h.key(module+"-inventory"))).To(BeFalse())
		for _, kept := range []struct{ kind, name string }{
			{"PersistentVolumeClaim", h.release + "-data"},
			{"PersistentVolumeClaim", h.release + "-cache"},
			{"Secret", h.release + "-credentials"},
			{"Secret", "user-secret"},
		} {
			live, found := h.get(g, "v1", kept.kind, h.key(kept.name))
			g.Expect(found).To(BeTrue(), kept.name)
			g.Expect(live.GetDeletionTimestamp()).To(BeNil(), kept.name)
		}

		h.writes.take()
		done, err := h.engine.Uninstall(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeTrue())
		g.Expect(h.writes.take()).To(BeEmpty(), "repeated uninstall writes nothing")
	})
}

func TestIntegrationCustomResourceWithItsCRD(t *testing.T) {
	h := newHarness(t, "sample")
	ctx := context.Background()
	g := NewWithT(t)
	m, err := Render(Release{ChartDir: sampleChart, Name: h.release, Namespace: h.ns})
	g.Expect(err).NotTo(HaveOccurred())

	// The Widget is applied right after the CRD that defines it.
	res, err := h.engine.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Applied).To(Equal(len(m.Objects)))
	widget, found := h.get(g, "sample.example.test/v1", "Widget", h.key(h.release+"-default"))
	g.Expect(found).To(BeTrue())
	g.Expect(widget.GetLabels()).To(HaveKeyWithValue(ModuleLabel, "sample"))

	g.Eventually(func(g Gomega) {
		r, err := h.engine.Verify(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.NotReady).To(BeEmpty())
		g.Expect(h.engine.Drifted(ctx)).To(BeEmpty())
	}).WithTimeout(eventuallyTimeout).WithPolling(pollInterval).Should(Succeed())
	kinds, err := h.engine.OwnedKinds(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(kinds).To(ContainElement(schema.GroupVersionKind{Group: "sample.example.test", Version: "v1", Kind: "Widget"}))

	h.writes.take()
	res, err = h.engine.Apply(ctx, m)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.UpToDate).To(BeTrue())
	g.Expect(h.writes.take()).To(BeEmpty())

	// The module's own Widget goes first, so its CRD is not held back.
	g.Eventually(func(g Gomega) {
		done, err := h.engine.Uninstall(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(done).To(BeTrue())
	}).WithTimeout(eventuallyTimeout).WithPolling(time.Second).Should(Succeed())
	g.Expect(h.exists(g, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
		client.ObjectKey{Name: "widgets.sample.example.test"})).To(BeFalse())
	g.Expect(h.exists(g, "v1", "Namespace", client.ObjectKey{Name: h.release + "-workspace"})).To(BeFalse())
}
