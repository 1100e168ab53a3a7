// Package admission checks, against a real API server, that the generated CRDs refuse
// invalid Serverless, Function and DockerRegistry resources with a clear message and
// accept valid ones unchanged.
package admission

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const (
	crdDir     = "../../../config/crd/bases"
	samplesDir = "../../../config/samples"
)

var (
	testCluster *cluster.Cluster
	k8s         client.Client
	namespace   string
)

func TestAdmission(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Admission")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	testCluster, err = cluster.ForSuite(ctx, cluster.Options{})
	Expect(err).NotTo(HaveOccurred())

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(testCluster.RESTConfig(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	installCRDs(ctx)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	namespace = ns.Name
}, NodeTimeout(15*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if k8s != nil && namespace != "" {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, ns))).To(Succeed())
	}
	if testCluster != nil {
		Expect(testCluster.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

// installCRDs creates (or replaces) every CRD in config/crd/bases and waits until the API
// server serves them.
func installCRDs(ctx context.Context) {
	files, err := filepath.Glob(framework.Path("config", "crd", "bases", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty(), "no CRDs in config/crd/bases: run make manifests")
	Expect(framework.InstallCRDs(ctx, k8s, files...)).To(Succeed())
}
