// Command localcluster builds the local control-plane binaries and starts or
// stops a long-running local cluster for development.
//
//	localcluster build
//	localcluster up [--nodes N] [--pods-per-node N] [--qps N] [--audit]
//	localcluster status
//	localcluster down
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

	"github.com/kyma-serverless/serverless/test/cluster"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: localcluster build | up [--nodes N] [--pods-per-node N] [--qps N] [--audit] | status | down")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "build":
		start := time.Now()
		if _, err := cluster.EnsureBinaries(ctx, os.Stdout); err != nil {
			return err
		}
		fmt.Printf("done in %s\n", time.Since(start).Round(time.Microsecond))
		return nil
	case "up":
		return up(ctx, args[1:])
	case "down":
		return down()
	case "status":
		return status()
	default:
		return usage()
	}
}

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	nodes := fs.Int("nodes", 3, "number of kwok nodes")
	pods := fs.Int("pods-per-node", 1000, "pod capacity of each node")
	qps := fs.Int("qps", cluster.DefaultControlPlaneQPS, "--kube-api-qps of kube-controller-manager and kube-scheduler (burst is twice that)")
	audit := fs.Bool("audit", false, "write an apiserver audit log (Metadata level) into the state dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := cluster.DefaultStateDir()
	if err != nil {
		return err
	}
	if st, err := cluster.ReadState(dir); err == nil && st.Running() {
		return fmt.Errorf("a local cluster is already running (state %s, kubeconfig %s); stop it first with `make cluster-down`", dir, st.Kubeconfig)
	}
	// Leftovers of a cluster whose processes are gone (e.g. after a reboot).
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cleaning stale state %s: %w", dir, err)
	}

	c, err := cluster.Start(ctx, cluster.Options{
		Nodes:           *nodes,
		PodsPerNode:     *pods,
		ControlPlaneQPS: *qps,
		AuditLog:        *audit,
		Dir:             dir,
		Detach:          true,
		Log:             os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Printf("kubeconfig: %s\n", c.KubeconfigPath())
	if c.AuditLogPath() != "" {
		fmt.Printf("audit log: %s\n", c.AuditLogPath())
	}
	fmt.Printf("export KUBECONFIG=%s\n", c.KubeconfigPath())
	fmt.Printf("# test suites reuse it with: export %s=%s\n", cluster.EnvKubeconfig, c.KubeconfigPath())
	return nil
}

func down() error {
	dir, err := cluster.DefaultStateDir()
	if err != nil {
		return err
	}
	if err := cluster.StopDir(dir, os.Stderr); err != nil {
		if errors.Is(err, cluster.ErrNoState) {
			fmt.Println("no local cluster is running")
			return nil
		}
		return err
	}
	fmt.Printf("local cluster stopped; removed %s\n", dir)
	return nil
}

func status() error {
	dir, err := cluster.DefaultStateDir()
	if err != nil {
		return err
	}
	st, err := cluster.ReadState(dir)
	if errors.Is(err, cluster.ErrNoState) {
		fmt.Println("no local cluster is running")
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range st.Processes {
		state := "stopped"
		if p.Alive {
			state = "running"
		}
		fmt.Printf("%-24s pid %-8d %s\n", p.Name, p.PID, state)
	}
	if !st.Running() {
		fmt.Printf("not running (stale state in %s; `make cluster-down` cleans it)\n", dir)
		return nil
	}
	if _, err := cluster.Attach(st.Kubeconfig); err != nil {
		fmt.Printf("apiserver: not ready: %v\n", err)
	} else {
		fmt.Println("apiserver: ready")
	}
	fmt.Printf("control-plane qps: %d\nkubeconfig: %s\n", st.ControlPlaneQPS, st.Kubeconfig)
	if st.AuditLog != "" {
		fmt.Printf("audit log: %s\n", st.AuditLog)
	}
	return nil
}
