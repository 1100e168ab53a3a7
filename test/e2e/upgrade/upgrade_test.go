package upgrade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/internal/installer"
	"github.com/kyma-serverless/serverless/test/framework"
)

const (
	droppedName = "serverless-upgrade-dropped"
	addedName   = "serverless-upgrade-added"
	otherGroup  = "upgrade.test.kyma-serverless.io"
)

var _ = Describe("Operator restarts and upgrades", Ordered, func() {
	var chartV1, chartV2 string
	cr := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: moduleNamespace}}

	BeforeAll(func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		chartV1 = copyChart(filepath.Join(dir, "v1"), "1.0.0-test.1", droppedName)
		chartV2 = copyChart(filepath.Join(dir, "v2"), "2.0.0-test.1", addedName)

		// A namesake of the object v2 drops, in another API group: pruning
		// by kind and name alone would delete it.
		crd := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "configmaps." + otherGroup},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: otherGroup, Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "configmaps", Singular: "configmap", Kind: "ConfigMap", ListKind: "ConfigMapList"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr(true),
					}},
				}},
			},
		}
		Expect(k8s.Create(ctx, crd)).To(Succeed())
		Expect(framework.WaitForCRD(ctx, k8s, crd.Name, time.Minute)).To(Succeed())
		Expect(k8s.Create(ctx, namesake())).To(Succeed())
	})

	It("converges to Ready without duplicates after being killed in the middle of an install", func(ctx SpecContext) {
		// Watch for the first object of the install and kill at once, before
		// the install can finish.
		cs, err := kubernetes.NewForConfig(testCluster.RESTConfig())
		Expect(err).NotTo(HaveOccurred())
		w, err := cs.CoreV1().ConfigMaps(moduleNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: installer.ModuleLabel + "=serverless"})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		first := startOperator(chartV1)
		Expect(k8s.Create(ctx, cr)).To(Succeed())
		Eventually(w.ResultChan()).WithTimeout(time.Minute).Should(Receive())
		first.Kill()
		got := &operatorv1alpha1.Serverless{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), got)).To(Succeed())
		GinkgoWriter.Printf("killed the operator in state %q\n", got.Status.State)
		Expect(got.Status.State).NotTo(Equal(operatorv1alpha1.StateReady))

		second := startOperator(chartV1)
		waitReady(ctx, cr, "1.0.0-test.1")

		deps := &appsv1.DeploymentList{}
		Expect(k8s.List(ctx, deps, client.MatchingLabels{installer.ModuleLabel: "serverless"})).To(Succeed())
		Expect(deps.Items).To(HaveLen(1))
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: moduleNamespace, Name: droppedName}, &corev1.ConfigMap{})).To(Succeed())
		inv := inventory(ctx)
		seen := map[string]bool{}
		for _, e := range inv {
			Expect(seen[e]).To(BeFalse(), "duplicate inventory entry %s", e)
			seen[e] = true
		}
		second.Stop(30 * time.Second)
	})

	It("prunes what the new chart dropped, adds what it brought, and leaves namesakes in other groups alone", func(ctx SpecContext) {
		startOperator(chartV2)
		waitReady(ctx, cr, "2.0.0-test.1")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: moduleNamespace, Name: droppedName}, &corev1.ConfigMap{}))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(BeTrue())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: moduleNamespace, Name: addedName}, &corev1.ConfigMap{})).To(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(namesake()), namesake())).To(Succeed())
		for _, e := range inventory(ctx) {
			Expect(e).NotTo(ContainSubstring(droppedName))
		}
	})
})

func namesake() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(otherGroup + "/v1")
	u.SetKind("ConfigMap")
	u.SetNamespace(moduleNamespace)
	u.SetName(droppedName)
	u.Object["data"] = map[string]any{"owner": "someone else"}
	return u
}

func waitReady(ctx context.Context, cr *operatorv1alpha1.Serverless, chartVersion string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		got := &operatorv1alpha1.Serverless{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), got)).To(Succeed())
		g.Expect(got.Status.ChartVersion).To(Equal(chartVersion))
		g.Expect(got.Status.State).To(Equal(operatorv1alpha1.StateReady), "conditions: %+v", got.Status.Conditions)
	}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// inventory lists the refs recorded by the operator, one string each.
func inventory(ctx context.Context) []string {
	GinkgoHelper()
	engine := installer.New(k8s, k8s, installer.Options{
		FieldManager: "serverless-operator", Module: "serverless", ManagedBy: "serverless-operator",
		InventoryNamespace: moduleNamespace, InventoryName: "serverless-inventory",
	})
	inv, err := engine.Inventory(ctx)
	Expect(err).NotTo(HaveOccurred())
	out := make([]string, 0, len(inv.Objects))
	for _, e := range inv.Objects {
		out = append(out, e.String())
	}
	return out
}

// copyChart copies charts/serverless with a new version and one extra
// ConfigMap, standing in for the chart another operator release carries.
func copyChart(dst, version, extraConfigMap string) string {
	GinkgoHelper()
	src := framework.Path("charts", "serverless")
	Expect(os.CopyFS(dst, os.DirFS(src))).To(Succeed())
	chartFile := filepath.Join(dst, "Chart.yaml")
	data, err := os.ReadFile(chartFile)
	Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "version:") {
			lines[i] = "version: " + version
		}
	}
	Expect(os.WriteFile(chartFile, []byte(strings.Join(lines, "\n")), 0o644)).To(Succeed())
	extra := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + extraConfigMap + "\n  namespace: {{ .Release.Namespace }}\ndata:\n  version: " + version + "\n"
	Expect(os.WriteFile(filepath.Join(dst, "templates", "upgrade-probe.yaml"), []byte(extra), 0o644)).To(Succeed())
	return dst
}

func ptr[T any](v T) *T { return &v }
