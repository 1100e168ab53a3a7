// Package upgrade runs the built serverless-operator binary as a process
// against a real API server: it is killed in the middle of an install and
// restarted, then replaced by a version carrying a newer chart.
package upgrade

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/controllers/serverless"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const moduleNamespace = "kyma-system"

var (
	testCluster *cluster.Cluster
	k8s         client.Client
	operatorBin string
	// operatorKubeconfig authenticates as a ServiceAccount holding only the
	// generated ClusterRole of the operator.
	operatorKubeconfig string
)

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Serverless operator upgrade")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	scheme, err := serverless.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	testCluster, k8s, err = framework.StartSuite(ctx, scheme,
		[]string{framework.Path("config", "crd", "bases", "operator.kyma-project.io_serverlesses.yaml")}, moduleNamespace)
	Expect(err).NotTo(HaveOccurred())
	operatorKubeconfig, err = framework.ServiceAccountKubeconfig(ctx, testCluster.RESTConfig(), moduleNamespace,
		"serverless-operator", framework.Path("config", "rbac", "serverless-operator", "role.yaml"), GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())

	operatorBin, err = framework.BuildBinary(ctx, "./cmd/serverless-operator", GinkgoT().TempDir(), GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(_ SpecContext) {
	if testCluster != nil {
		Expect(testCluster.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

// startOperator runs the operator binary with the given chart as the
// operator's ServiceAccount.
func startOperator(chartDir string) *framework.Process {
	GinkgoHelper()
	p, err := framework.StartProcess(operatorBin, operatorKubeconfig, GinkgoWriter,
		"--chart-dir", chartDir, "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(p.Kill)
	return p
}
