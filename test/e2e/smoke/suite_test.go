package smoke

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/test/cluster"
)

var (
	localCluster *cluster.Cluster
	restConfig   *rest.Config
	k8sClient    client.Client
	clientset    kubernetes.Interface
)

func TestSmoke(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Local cluster smoke suite")
}

// A cold binary cache means a build of several minutes before the first start.
var _ = BeforeSuite(func(ctx SpecContext) {
	start := time.Now()
	var err error
	localCluster, err = cluster.ForSuite(ctx, cluster.Options{})
	Expect(err).NotTo(HaveOccurred())
	By(fmt.Sprintf("local cluster available after %s (control-plane qps %d)", time.Since(start).Round(time.Millisecond), localCluster.ControlPlaneQPS()))

	restConfig = localCluster.RESTConfig()
	restConfig.QPS, restConfig.Burst = 50, 100
	k8sClient, err = client.New(restConfig, client.Options{})
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(restConfig)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(20*time.Minute))

// Ginkgo also runs this on SIGINT/SIGTERM; if the process dies harder than that,
// the components receive SIGKILL through their parent-death signal.
var _ = AfterSuite(func() {
	if localCluster != nil {
		Expect(localCluster.Stop()).To(Succeed())
	}
})

// newNamespace creates a namespace for one spec and deletes it afterwards. It
// returns once the namespace's default ServiceAccount exists, because Pods cannot
// be admitted before that.
func newNamespace(ctx context.Context, labels map[string]string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "smoke-", Labels: labels}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed())
	})
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})).To(Succeed())
	}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	return ns.Name
}
