package perf

import (
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const functionControllerSA = "function-controller"

// functionBench is a local cluster with the Function CRD, the controller's
// configuration and the function-controller binary running as its own
// ServiceAccount, as it runs in a Pod.
type functionBench struct {
	cluster *cluster.Cluster
	client  client.Client
	proc    *framework.Process
	user    string
}

func startFunctionBench(t *testing.T, opts cluster.Options, config string, prepare func(context.Context, client.Client) error, args ...string) *functionBench {
	t.Helper()
	ctx := context.Background()
	lc, err := cluster.Start(ctx, opts)
	must(t, err)
	t.Cleanup(func() { _ = lc.Stop() })
	scheme, err := function.NewScheme()
	must(t, err)
	must(t, apiextensionsv1.AddToScheme(scheme))
	// A high client rate limit keeps the test's own requests from adding delay.
	cfg := lc.RESTConfig()
	cfg.QPS, cfg.Burst = 1000, 2000
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)
	must(t, framework.InstallCRDs(ctx, k8s, framework.Path("config", "crd", "bases", "serverless.kyma-project.io_functions.yaml")))
	must(t, client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: moduleNamespace}})))
	if prepare != nil {
		must(t, prepare(ctx, k8s))
	}
	must(t, k8s.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: moduleNamespace, Name: functionconfig.ConfigMapName},
		Data:       map[string]string{functionconfig.ConfigMapKey: config},
	}))

	dir := t.TempDir()
	kubeconfig, err := framework.ServiceAccountKubeconfig(ctx, lc.RESTConfig(), moduleNamespace, functionControllerSA,
		framework.Path("config", "rbac", "function-controller", "role.yaml"), dir)
	must(t, err)
	bin, err := framework.BuildBinary(ctx, "./cmd/function-controller", dir, os.Stderr)
	must(t, err)
	logFile, err := os.Create(dir + "/controller.log")
	must(t, err)
	args = append([]string{"--config-namespace", moduleNamespace, "--metrics-bind-address", "0", "--health-probe-bind-address", "0"}, args...)
	proc, err := framework.StartProcess(bin, kubeconfig, logFile, args...)
	must(t, err)
	t.Cleanup(proc.Kill)
	return &functionBench{cluster: lc, client: k8s, proc: proc, user: framework.ServiceAccountUser(moduleNamespace, functionControllerSA)}
}

// writes counts the controller's write requests so far, by verb.
func (b *functionBench) writes(t *testing.T) map[string]int {
	t.Helper()
	counts, err := cluster.CountAuditRequests(b.cluster.AuditLogPath(), b.user, "create", "update", "patch", "delete", "deletecollection")
	must(t, err)
	return counts
}

// requests counts the controller's requests so far, by verb (watches aside).
func (b *functionBench) requests(t *testing.T) map[string]int {
	t.Helper()
	counts, err := cluster.CountAuditRequests(b.cluster.AuditLogPath(), b.user, "get", "list", "create", "update", "patch", "delete", "deletecollection")
	must(t, err)
	return counts
}
