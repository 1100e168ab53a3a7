// Package serverless proves the Serverless operator on a real API server:
// install, reconfigure, mode switches, drift repair, the served filter,
// admission and guarded deletion.
package serverless

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
	operator    *framework.RunningManager
)

func TestServerlessOperator(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Serverless operator")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme, err := serverless.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	testCluster, k8s, err = framework.StartSuite(ctx, scheme,
		[]string{framework.Path("config", "crd", "bases", "operator.kyma-project.io_serverlesses.yaml")}, moduleNamespace)
	Expect(err).NotTo(HaveOccurred())

	mgr, err := serverless.NewManager(testCluster.RESTConfig(), serverless.ManagerOptions{
		MetricsAddr: "0", ProbeAddr: "0", ChartDir: framework.Path("charts", "serverless"),
	})
	Expect(err).NotTo(HaveOccurred())
	operator = framework.RunManager(mgr)
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if operator != nil {
		Expect(operator.Stop()).To(Succeed())
	}
	if testCluster != nil {
		Expect(testCluster.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))
