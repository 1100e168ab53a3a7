package perf

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/controllers/serverless"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

const (
	moduleNamespace  = "kyma-system"
	operatorSA       = "serverless-operator"
	functionCRD      = "functions.serverless.kyma-project.io"
	helmRelease      = "serverless"
	defaultRuns      = 5
	defaultIdleSecs  = 120
	installWaitLimit = 5 * time.Minute
)

// TestBenchServerlessOperator compares the operator with Helm on the same
// local cluster and chart, then measures its idle writes and memory.
func TestBenchServerlessOperator(t *testing.T) {
	requireBench(t)
	helm := os.Getenv("HELM_BIN")
	if helm == "" {
		t.Skip("HELM_BIN is not set: run the benchmarks with `make bench`, which builds the Helm CLI")
	}
	runs := envInt("BENCH_RUNS", defaultRuns)
	idle := time.Duration(envInt("BENCH_IDLE_SECONDS", defaultIdleSecs)) * time.Second
	ctx := context.Background()

	lc, err := cluster.Start(ctx, cluster.Options{AuditLog: true})
	must(t, err)
	t.Cleanup(func() { _ = lc.Stop() })
	scheme, err := serverless.NewScheme()
	must(t, err)
	// A high client rate limit keeps the polling below from adding its own delay.
	cfg := lc.RESTConfig()
	cfg.QPS, cfg.Burst = 1000, 2000
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)
	must(t, framework.InstallCRDs(ctx, k8s, framework.Path("config", "crd", "bases", "operator.kyma-project.io_serverlesses.yaml")))
	must(t, client.IgnoreAlreadyExists(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: moduleNamespace}})))

	dir := t.TempDir()
	kubeconfig, err := framework.ServiceAccountKubeconfig(ctx, lc.RESTConfig(), moduleNamespace, operatorSA,
		framework.Path("config", "rbac", "serverless-operator", "role.yaml"), dir)
	must(t, err)
	bin, err := framework.BuildBinary(ctx, "./cmd/serverless-operator", dir, os.Stderr)
	must(t, err)
	logFile, err := os.Create(dir + "/operator.log")
	must(t, err)
	op, err := framework.StartProcess(bin, kubeconfig, logFile,
		"--chart-dir", framework.Path("charts", "serverless"), "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	must(t, err)
	t.Cleanup(op.Kill)

	chart := framework.Path("charts", "serverless")
	install := comparison{name: "Install: create to Ready", oursLabel: "serverless-operator", theirsLabel: "helm upgrade --install --wait", target: 0.8}
	reconf := comparison{name: "Reconfigure: logLevel change to Ready", oursLabel: "serverless-operator", theirsLabel: "helm upgrade --wait", target: 0.8}
	for i := 0; i < runs; i++ {
		cr := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: moduleNamespace}}
		start := time.Now()
		must(t, k8s.Create(ctx, cr))
		must(t, waitReady(ctx, k8s, cr, func(s *operatorv1alpha1.Serverless) bool { return true }))
		install.ours = append(install.ours, time.Since(start))

		must(t, k8s.Get(ctx, client.ObjectKeyFromObject(cr), cr))
		cr.Spec.LogLevel = "debug"
		start = time.Now()
		must(t, k8s.Update(ctx, cr))
		must(t, waitReady(ctx, k8s, cr, func(s *operatorv1alpha1.Serverless) bool { return s.Status.LogLevel == "debug" }))
		reconf.ours = append(reconf.ours, time.Since(start))

		if i == runs-1 {
			break // keep the last install for the idle and memory figures
		}
		must(t, k8s.Delete(ctx, cr))
		must(t, waitGone(ctx, k8s, cr))

		start = time.Now()
		must(t, runHelm(ctx, helm, lc.KubeconfigPath(), "upgrade", "--install", helmRelease, chart, "-n", moduleNamespace, "--wait", "--timeout", "5m"))
		install.theirs = append(install.theirs, time.Since(start))
		start = time.Now()
		must(t, runHelm(ctx, helm, lc.KubeconfigPath(), "upgrade", helmRelease, chart, "-n", moduleNamespace, "--wait", "--timeout", "5m", "--reuse-values", "--set", "logging.level=debug"))
		reconf.theirs = append(reconf.theirs, time.Since(start))
		must(t, runHelm(ctx, helm, lc.KubeconfigPath(), "uninstall", helmRelease, "-n", moduleNamespace, "--wait"))
		// Helm keeps CRDs; remove it so every Helm run installs the same objects as the operator.
		must(t, deleteCRD(ctx, k8s, functionCRD))
	}
	// The last pair of Helm runs happens after the operator's, on a clean slate.
	cr := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: moduleNamespace}}

	rss, err := op.RSSBytes()
	must(t, err)
	user := framework.ServiceAccountUser(moduleNamespace, operatorSA)
	before, err := cluster.CountAuditRequests(lc.AuditLogPath(), user, "create", "update", "patch", "delete", "deletecollection")
	must(t, err)
	time.Sleep(idle)
	after, err := cluster.CountAuditRequests(lc.AuditLogPath(), user, "create", "update", "patch", "delete", "deletecollection")
	must(t, err)
	idleWrites := total(after) - total(before)

	must(t, k8s.Delete(ctx, cr))
	must(t, waitGone(ctx, k8s, cr))
	start := time.Now()
	must(t, runHelm(ctx, helm, lc.KubeconfigPath(), "upgrade", "--install", helmRelease, chart, "-n", moduleNamespace, "--wait", "--timeout", "5m"))
	install.theirs = append(install.theirs, time.Since(start))
	start = time.Now()
	must(t, runHelm(ctx, helm, lc.KubeconfigPath(), "upgrade", helmRelease, chart, "-n", moduleNamespace, "--wait", "--timeout", "5m", "--reuse-values", "--set", "logging.level=debug"))
	reconf.theirs = append(reconf.theirs, time.Since(start))

	w := os.Stdout
	fmt.Fprintf(w, "\n=== Serverless operator benchmark (local cluster: %s; control-plane client QPS %d; %d runs each) ===\n",
		"kube-apiserver v1.37.2 + kwok", lc.ControlPlaneQPS(), runs)
	install.print(w)
	reconf.print(w)
	fmt.Fprintf(w, "Idle: write requests by %s over %s with the CR Ready: %d (target 0) %v\n", user, idle, idleWrites, diff(after, before))
	fmt.Fprintf(w, "Operator resident memory after install: %.1f MiB (target <= 60 MiB)\n", float64(rss)/(1<<20))
}

func waitReady(ctx context.Context, k8s client.Client, cr *operatorv1alpha1.Serverless, extra func(*operatorv1alpha1.Serverless) bool) error {
	got := &operatorv1alpha1.Serverless{}
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, installWaitLimit, true, func(ctx context.Context) (bool, error) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), got); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		c := meta.FindStatusCondition(got.Status.Conditions, operatorv1alpha1.ConditionInstalled)
		return got.Status.State == operatorv1alpha1.StateReady && c != nil && c.ObservedGeneration == got.Generation && extra(got), nil
	})
}

func waitGone(ctx context.Context, k8s client.Client, obj client.Object) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, installWaitLimit, true, func(ctx context.Context) (bool, error) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

func deleteCRD(ctx context.Context, k8s client.Client, name string) error {
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := client.IgnoreNotFound(k8s.Delete(ctx, crd)); err != nil {
		return err
	}
	return waitGone(ctx, k8s, crd)
}

func runHelm(ctx context.Context, helm, kubeconfig string, args ...string) error {
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CACHE_HOME="+os.TempDir()+"/helm-cache",
		"HELM_CONFIG_HOME="+os.TempDir()+"/helm-config", "HELM_DATA_HOME="+os.TempDir()+"/helm-data")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("helm %v: %w\n%s", args, err, out)
	}
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil && v > 0 {
		return v
	}
	return def
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
