// Package function proves the Function controller in buildless mode on a real API server with
// kwok nodes: inline and Git Functions become Deployments, Services and ConfigMaps that reach
// Running, Pods pass the restricted Pod Security Standard, dependency problems are reported,
// and a Function at rest costs no writes.
package function

import (
	"context"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/gitsource/gittest"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const configNamespace = "kyma-system"

var (
	testCluster *cluster.Cluster
	k8s         client.Client
	writes      = &framework.WriteCounter{}
	gitServer   *gittest.Server
	gitRoot     string
	controller  *framework.RunningManager
)

func TestFunctionController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Function controller")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	scheme, err := function.NewScheme()
	Expect(err).NotTo(HaveOccurred())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	testCluster, k8s, err = framework.StartSuite(ctx, scheme,
		[]string{framework.Path("config", "crd", "bases", "serverless.kyma-project.io_functions.yaml")}, configNamespace)
	Expect(err).NotTo(HaveOccurred())
	writeConfig(ctx, validConfig)

	// the controller runs as a ServiceAccount with the ClusterRole generated from its RBAC
	// markers, and its client config counts every write it sends
	kubeconfig, err := framework.ServiceAccountKubeconfig(ctx, testCluster.RESTConfig(), configNamespace,
		function.FieldManager, framework.Path("config", "rbac", "function-controller", "role.yaml"), GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	writes.Wrap(cfg)
	mgr, err := function.NewManager(cfg, function.Options{
		ConfigNamespace: configNamespace, ConfigName: functionconfig.ConfigMapName, MetricsAddr: "0", ProbeAddr: "0",
	})
	Expect(err).NotTo(HaveOccurred())
	controller = framework.RunManager(mgr)
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if controller != nil {
		Expect(controller.Stop()).To(Succeed())
	}
	if gitServer != nil {
		gitServer.Close()
		_ = os.RemoveAll(gitRoot)
	}
	if testCluster != nil {
		Expect(testCluster.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

// validConfig is the controller configuration as the chart renders it, with a short requeue
// duration so that Git polling shows within the test.
const validConfig = `mode: buildless
logLevel: info
requeueDuration: 3s
tracingEndpoint: ""
eventingEndpoint: http://eventing-publisher-proxy.kyma-system.svc.cluster.local/publish
` + framework.ControllerImages

func writeConfig(ctx context.Context, data string) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: functionconfig.ConfigMapName}}
	err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	cm.Data = map[string]string{functionconfig.ConfigMapKey: data}
	if err == nil {
		Expect(k8s.Update(ctx, cm)).To(Succeed())
		return
	}
	Expect(client.IgnoreNotFound(err)).To(Succeed())
	cm.ResourceVersion = ""
	Expect(k8s.Create(ctx, cm)).To(Succeed())
}
