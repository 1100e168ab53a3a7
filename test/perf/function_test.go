package perf

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/test/cluster"
)

const (
	defaultFunctions  = 1000
	defaultNamespaces = 20
	createWorkers     = 10
)

// benchConfig is the Function controller configuration the chart renders
// for buildless mode.
const benchConfig = `mode: buildless
logLevel: info
requeueDuration: 5m
runtimeImages:
  nodejs20: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs20:main
  nodejs22: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs22:main
  nodejs24: europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs24:main
  python312: europe-docker.pkg.dev/kyma-project/prod/function-runtime-python312:main
gitFetcherImage: europe-docker.pkg.dev/kyma-project/prod/function-git-fetcher:main
`

// TestBenchFunctions creates many inline Functions in buildless mode and
// measures the time until all run, the controller's writes per Function, its
// memory, and its writes while idle.
func TestBenchFunctions(t *testing.T) {
	requireBench(t)
	n := envInt("BENCH_FUNCTIONS", defaultFunctions)
	namespaces := envInt("BENCH_NAMESPACES", defaultNamespaces)
	idle := time.Duration(envInt("BENCH_IDLE_SECONDS", defaultIdleSecs)) * time.Second
	ctx := context.Background()

	bench := startFunctionBench(t, cluster.Options{AuditLog: true, PodsPerNode: 2000}, benchConfig, nil)
	k8s, lc := bench.client, bench.cluster
	before := bench.writes(t)

	start := time.Now()
	must(t, createFunctions(ctx, k8s, n, namespaces))
	created := time.Since(start)
	must(t, waitAllRunning(ctx, k8s, n, 15*time.Minute))
	allRunning := time.Since(start)
	// Let the last status writes land in the audit log.
	time.Sleep(2 * time.Second)
	after := bench.writes(t)
	rss, err := bench.proc.RSSBytes()
	must(t, err)
	writes := total(after) - total(before)

	idleStart := bench.writes(t)
	time.Sleep(idle)
	idleEnd := bench.writes(t)

	w := os.Stdout
	fmt.Fprintf(w, "\n=== Function controller benchmark (local cluster: kube-apiserver v1.37.2 + kwok; kube-controller-manager/scheduler client QPS %d) ===\n", lc.ControlPlaneQPS())
	fmt.Fprintf(w, "%d inline Functions in %d namespaces, buildless: created in %s, all Running=True after %s\n",
		n, namespaces, round(created), round(allRunning))
	fmt.Fprintf(w, "Controller write requests: %d = %.2f per Function (target <= 4) %v\n", writes, float64(writes)/float64(n), diff(after, before))
	fmt.Fprintf(w, "Controller resident memory with %d Running Functions: %.1f MiB (target <= 150 MiB)\n", n, float64(rss)/(1<<20))
	fmt.Fprintf(w, "Idle: controller write requests over %s with %d Running Functions: %d (target 0) %v\n",
		idle, n, total(idleEnd)-total(idleStart), diff(idleEnd, idleStart))
}

func createFunctions(ctx context.Context, k8s client.Client, n, namespaces int) error {
	for i := 0; i < namespaces; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%02d", i)}}
		if err := client.IgnoreAlreadyExists(k8s.Create(ctx, ns)); err != nil {
			return err
		}
	}
	return inParallel(n, func(i int) error { return k8s.Create(ctx, benchFunction(i, namespaces)) })
}

func benchFunction(i, namespaces int) *serverlessv1alpha2.Function {
	return &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("fn-%04d", i), Namespace: fmt.Sprintf("bench-%02d", i%namespaces)},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: serverlessv1alpha2.RuntimeNodejs22,
			Source: serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{
				Source:       fmt.Sprintf("const isNumber = require('is-number');\nmodule.exports = { main: () => isNumber(%d) };\n", i),
				Dependencies: `{"name":"fn","version":"1.0.0","dependencies":{"is-number":"7.0.0"}}`,
			}},
		},
	}
}

func waitAllRunning(ctx context.Context, k8s client.Client, n int, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		list := &serverlessv1alpha2.FunctionList{}
		if err := k8s.List(ctx, list); err != nil {
			return false, err
		}
		running := 0
		for _, fn := range list.Items {
			if meta.IsStatusConditionTrue(fn.Status.Conditions, serverlessv1alpha2.ConditionRunning) {
				running++
			}
		}
		return running >= n, nil
	})
}
