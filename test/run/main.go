// Command run is `make run`: it runs the Serverless module on the local
// cluster (or on $KUBECONFIG when set), applies the default Serverless CR,
// waits until it is Ready, prints its status and keeps the operators running
// with logs until Ctrl-C. Then it uninstalls the module and stops what it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/controllers/serverless"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make run:", err)
		os.Exit(1)
	}
}

func run() error {
	readyTimeout := flag.Duration("ready-timeout", 5*time.Minute, "How long to wait for the Serverless CR to become Ready.")
	exitWhenReady := flag.Bool("exit-when-ready", false, "Clean up and exit once Ready instead of waiting for Ctrl-C (for scripted checks).")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseDevMode(true)))

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	cfg, stopCluster, err := connect(ctx)
	if err != nil {
		return err
	}
	defer stopCluster()

	scheme, err := serverless.NewScheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if err := framework.InstallCRDs(ctx, c, framework.Path("config", "crd", "bases", "operator.kyma-project.io_serverlesses.yaml")); err != nil {
		return err
	}

	mgr, err := serverless.NewManager(cfg, serverless.ManagerOptions{
		MetricsAddr: "127.0.0.1:0", ProbeAddr: "0", ChartDir: framework.Path("charts", "serverless"),
	})
	if err != nil {
		return err
	}
	mgrCtx, stopMgr := context.WithCancel(context.Background())
	mgrDone := make(chan error, 2)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	defer func() {
		stopMgr()
		if err := <-mgrDone; err != nil {
			fmt.Fprintln(os.Stderr, "operator stopped with an error:", err)
		}
	}()

	cr, err := applySample(ctx, c)
	if err != nil {
		return err
	}
	fmt.Printf("\nApplied Serverless %s/%s; waiting for Ready...\n", cr.Namespace, cr.Name)
	start := time.Now()
	if err := waitReady(ctx, c, cr, *readyTimeout); err != nil {
		return err
	}
	printStatus(cr, time.Since(start))

	// kwok runs no container, so the function-controller Deployment the
	// operator installed executes nothing: run the controller here instead.
	fnMgr, err := function.NewManager(cfg, function.Options{
		ConfigNamespace: cr.Namespace, MetricsAddr: "0", ProbeAddr: "0",
	})
	if err != nil {
		return err
	}
	go func() { mgrDone <- fnMgr.Start(mgrCtx) }()
	defer func() {
		stopMgr()
		if err := <-mgrDone; err != nil {
			fmt.Fprintln(os.Stderr, "function-controller stopped with an error:", err)
		}
	}()
	if err := runSampleFunction(ctx, cfg); err != nil {
		return err
	}

	if !*exitWhenReady {
		fmt.Println("\nThe operator keeps running; its logs follow. Press Ctrl-C to uninstall and stop.")
		<-ctx.Done()
	}
	fmt.Println("\nUninstalling: deleting the Serverless CR...")
	return uninstall(c, cr)
}

// connect uses $KUBECONFIG when set, otherwise starts the local cluster.
func connect(ctx context.Context) (*rest.Config, func(), error) {
	if path := os.Getenv("KUBECONFIG"); path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, nil, fmt.Errorf("load $KUBECONFIG: %w", err)
		}
		fmt.Printf("Using the cluster of $KUBECONFIG (%s)\n", path)
		return cfg, func() {}, nil
	}
	lc, err := cluster.Start(ctx, cluster.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("start local cluster: %w", err)
	}
	fmt.Printf("Local cluster is up. Reach it with:\n  export KUBECONFIG=%s\n", lc.KubeconfigPath())
	return lc.RESTConfig(), func() {
		if err := lc.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop local cluster:", err)
		}
	}, nil
}

func applySample(ctx context.Context, c client.Client) (*operatorv1alpha1.Serverless, error) {
	data, err := os.ReadFile(framework.Path("config", "samples", "operator_v1alpha1_serverless.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read sample: %w", err)
	}
	cr := &operatorv1alpha1.Serverless{}
	if err := yaml.UnmarshalStrict(data, cr); err != nil {
		return nil, fmt.Errorf("decode sample: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cr.Namespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create namespace %s: %w", cr.Namespace, err)
	}
	if err := c.Create(ctx, cr); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create Serverless: %w", err)
	}
	return cr, nil
}

func waitReady(ctx context.Context, c client.Client, cr *operatorv1alpha1.Serverless, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return false, err
		}
		return cr.Status.State == operatorv1alpha1.StateReady, nil
	})
}

func printStatus(cr *operatorv1alpha1.Serverless, took time.Duration) {
	fmt.Printf("\nServerless %s/%s is %s after %s\n", cr.Namespace, cr.Name, cr.Status.State, took.Round(100*time.Millisecond))
	out, err := yaml.Marshal(cr.Status)
	if err == nil {
		fmt.Println(string(out))
	}
}

// runSampleFunction applies the Node.js Function sample, waits until it runs,
// prints it and deletes it again, so the uninstall is not blocked.
func runSampleFunction(ctx context.Context, cfg *rest.Config) error {
	data, err := os.ReadFile(framework.Path("config", "samples", "serverless_v1alpha2_function_nodejs.yaml"))
	if err != nil {
		return fmt.Errorf("read Function sample: %w", err)
	}
	fn := &serverlessv1alpha2.Function{}
	if err := yaml.UnmarshalStrict(data, fn); err != nil {
		return fmt.Errorf("decode Function sample: %w", err)
	}
	if fn.Namespace == "" {
		fn.Namespace = "default"
	}
	scheme, err := function.NewScheme()
	if err != nil {
		return err
	}
	fc, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if err := fc.Create(ctx, fn); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Function: %w", err)
	}
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := fc.Get(ctx, client.ObjectKeyFromObject(fn), fn); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(fn.Status.Conditions, serverlessv1alpha2.ConditionRunning), nil
	})
	if err != nil {
		return fmt.Errorf("wait for Function %s/%s to run: %w", fn.Namespace, fn.Name, err)
	}
	fmt.Printf("\nFunction %s/%s (sample) is running after %s:\n", fn.Namespace, fn.Name, time.Since(start).Round(100*time.Millisecond))
	for _, cond := range fn.Status.Conditions {
		fmt.Printf("  %-20s %-6s %s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	if err := fc.Delete(ctx, fn); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Function sample: %w", err)
	}
	return nil
}

// uninstall deletes the CR and waits until the operator removed the module.
func uninstall(c client.Client, cr *operatorv1alpha1.Serverless) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Delete(ctx, cr); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Serverless: %w", err)
	}
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err == nil && cr.Status.State == operatorv1alpha1.StateWarning {
			fmt.Println("  deletion waits:", conditionMessage(cr, operatorv1alpha1.ConditionDeleted))
		}
		return false, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the Serverless CR was not removed in time (state %s)", cr.Status.State)
	}
	if err == nil {
		fmt.Println("Uninstalled.")
	}
	return err
}

func conditionMessage(cr *operatorv1alpha1.Serverless, t string) string {
	for _, c := range cr.Status.Conditions {
		if c.Type == t {
			return c.Message
		}
	}
	return ""
}
