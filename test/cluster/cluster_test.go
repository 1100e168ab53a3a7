package cluster

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestStartAuditStop runs a real control plane: it needs the binaries (built on
// first use) and a few seconds.
func TestStartAuditStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Nodes: 1, PodsPerNode: 10, ControlPlaneQPS: 50, AuditLog: true, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()

	if c.ControlPlaneQPS() != 50 || c.AuditLogPath() == "" {
		t.Fatalf("qps %d, audit log %q", c.ControlPlaneQPS(), c.AuditLogPath())
	}
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != KubernetesVersion {
		t.Fatalf("server version %q, want %q", v.GitVersion, KubernetesVersion)
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, "kwok-node-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := node.Status.Allocatable.Pods().Value(); got != 10 {
		t.Fatalf("allocatable pods %d, want 10", got)
	}

	for _, name := range []string{"a", "b"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audit-" + name, Namespace: "default"}}
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := CountAuditRequests(c.AuditLogPath(), "localcluster-admin", "create")
	if err != nil {
		t.Fatal(err)
	}
	// Two ConfigMaps plus the Nodes Start created.
	if counts["create"] < 3 {
		t.Fatalf("audit counts %v, want at least 3 creates", counts)
	}

	attached, err := Attach(c.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if attached.AuditLogPath() != c.AuditLogPath() || attached.ControlPlaneQPS() != 50 {
		t.Fatalf("attached cluster: audit %q qps %d", attached.AuditLogPath(), attached.ControlPlaneQPS())
	}
	if err := attached.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		t.Fatalf("Stop of an attached cluster must not stop it: %v", err)
	}

	procs := c.procs
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, p := range procs {
		if pidRunning(p.PID, p.Exe) {
			t.Errorf("%s (pid %d) survived Stop", p.Name, p.PID)
		}
	}
	if _, err := os.Stat(c.StateDir()); os.Getenv(envKeepState) == "" && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary state dir left behind: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}

func TestProcessExitedDetectsPortConflicts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) *process {
		path := dir + "/" + name + ".log"
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return &process{Name: name, Log: path}
	}
	busy := write("kube-apiserver", "I0101 starting\nE0101 run.go:72] \"command failed\" err=\"failed to listen on 127.0.0.1:6443: listen tcp 127.0.0.1:6443: bind: address already in use\"\n")
	if err := processExited(busy); !errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), busy.Log) {
		t.Fatalf("port conflict not recognised: %v", err)
	}
	other := write("etcd", "panic: something else\n")
	if err := processExited(other); errors.Is(err, errPortInUse) || !strings.Contains(err.Error(), "something else") {
		t.Fatalf("unexpected error: %v", err)
	}
}
