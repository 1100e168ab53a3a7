package functionbuild

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/framework"
)

var (
	h   *Harness
	k8s client.Client
	// logs holds everything the controller logged, to prove that no secret is in it.
	logs = &syncBuffer{}
)

func TestFunctionBuild(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Function controller in build mode")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, logs)), zap.UseDevMode(true)))
	var err error
	h, err = Setup(ctx, buildConfig(2), GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	k8s = h.Client

	// what the chart installs in build mode: the registry Secret and the Dockerfiles
	Expect(k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ConfigNamespace, Name: registrySecretName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{
			functionconfig.RegistrySecretPushAddressKey:  []byte(pushAddress),
			functionconfig.RegistrySecretPullAddressKey:  []byte(pullAddress),
			functionconfig.RegistrySecretDockerConfigKey: []byte(`{"auths":{"` + pushAddress + `":{"username":"builder","password":"` + registryPassword + `"}}}`),
		},
	})).To(Succeed())
	for _, rt := range serverlessv1alpha2.Runtimes {
		Expect(k8s.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: ConfigNamespace, Name: dockerfileName(rt), Labels: map[string]string{
				functionconfig.ConfigLabel:  functionconfig.ConfigLabelRuntime,
				functionconfig.RuntimeLabel: string(rt),
			}},
			Data: map[string]string{functionconfig.DockerfileKey: "ARG base_image\nFROM ${base_image}\nCOPY ./src/ /usr/src/app/function/\n"},
		})).To(Succeed())
	}
	Expect(h.StartController()).To(Succeed())
}, NodeTimeout(20*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if h != nil {
		Expect(h.Teardown()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))

const (
	registrySecretName = "serverless-registry-config"
	pushAddress        = "registry.test:5000"
	pullAddress        = "localhost:32137"
	registryPassword   = "n3ver-print-this-passw0rd"
)

// buildConfig is the controller's configuration in build mode with a limit on
// simultaneous builds.
func buildConfig(maxJobs int) string {
	return configFor("build", maxJobs)
}

func configFor(mode string, maxJobs int) string {
	return `mode: ` + mode + `
logLevel: info
requeueDuration: 30s
tracingEndpoint: ""
` + framework.ControllerImages + `build:
  executorImage: registry.test/kaniko-executor:test
  maxSimultaneousJobs: ` + strconv.Itoa(maxJobs) + `
  registrySecretName: ` + registrySecretName + `
`
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
