// Package serverless proves the Serverless operator on a real API server:
// install, reconfigure, mode switches, drift repair, the served filter,
// admission and guarded deletion.
package serverless

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kyma-serverless/serverless/controllers/serverless"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const moduleNamespace = "kyma-system"

var (
	testCluster *cluster.Cluster
	k8s         client.Client
	stopManager context.CancelFunc
	managerDone chan struct{}
)

func TestServerlessOperator(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Serverless operator")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	testCluster, err = cluster.ForSuite(ctx, cluster.Options{})
	Expect(err).NotTo(HaveOccurred())

	scheme, err := serverless.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(testCluster.RESTConfig(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	Expect(framework.InstallCRDs(ctx, k8s, framework.Path("config", "crd", "bases", "operator.kyma-project.io_serverlesses.yaml"))).To(Succeed())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: moduleNamespace}}
	Expect(client.IgnoreAlreadyExists(k8s.Create(ctx, ns))).To(Succeed())

	mgr, err := serverless.NewManager(testCluster.RESTConfig(), serverless.ManagerOptions{
		MetricsAddr: "0", ProbeAddr: "0", ChartDir: framework.Path("charts", "serverless"),
	})
	Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(context.Background())
	stopManager, managerDone = cancel, make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(managerDone)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if stopManager != nil {
		stopManager()
		Eventually(managerDone).WithTimeout(30 * time.Second).Should(BeClosed())
	}
	if testCluster != nil {
		Expect(testCluster.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))
