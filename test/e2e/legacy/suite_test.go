// Package legacy proves that the Function controller takes over what Kyma's legacy
// (build-only) Function controller left in a cluster: a Deployment with a generated name is
// adopted in place and keeps serving, duplicates go once it is available, and the build
// objects (Job, build ConfigMap, ServiceAccount, registry Secret copy with its finalizer)
// are removed.
package legacy

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kyma-serverless/serverless/test/e2e/functionbuild"
	"github.com/kyma-serverless/serverless/test/framework"
)

var (
	h   *functionbuild.Harness
	k8s client.Client
)

func TestLegacyAdoption(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Adoption of Kyma's legacy Function workloads")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	var err error
	h, err = functionbuild.Setup(ctx, buildlessConfig, GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	k8s = h.Client
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if h != nil {
		Expect(h.Teardown()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

const buildlessConfig = `mode: buildless
requeueDuration: 30s
tracingEndpoint: ""
` + framework.ControllerImages
