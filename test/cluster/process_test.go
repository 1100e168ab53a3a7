package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "LOCALCLUSTER_TEST_HELPER"

func sleepBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	p, err = filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The goroutine that asks for a child may run on a thread that later exits; the
// child must not take that as its parent's death.
func TestChildSurvivesExitOfRequestingThread(t *testing.T) {
	sleep := sleepBinary(t)
	l := newLauncher()
	logPath := filepath.Join(t.TempDir(), "sleep.log")
	var p *process
	var err error
	for attempt := 0; p == nil && err == nil && attempt < 10; attempt++ {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Not unlocked: the thread is destroyed on return. The main thread is
			// only parked instead, so it cannot show the problem; try another.
			runtime.LockOSThread()
			if syscall.Gettid() == os.Getpid() {
				return
			}
			p, err = startProcess(l, false, "sleep", sleep, logPath, "60")
		}()
		<-done
	}
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		t.Skip("could not get a goroutine off the main thread")
	}
	time.Sleep(300 * time.Millisecond)
	if !p.alive() {
		t.Fatal("child died when the requesting thread exited")
	}
	if err := stopAll([]*process{p}, time.Second); err != nil {
		t.Fatal(err)
	}
	l.close()
}

// TestHelperStartsChild is the body of the helper process of
// TestChildDiesWithParent.
func TestHelperStartsChild(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper process only")
	}
	l := newLauncher()
	p, err := startProcess(l, false, "sleep", sleepBinary(t), os.DevNull, "60")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("pid %d\n", p.PID)
	select {}
}

func TestChildDiesWithParent(t *testing.T) {
	sleep := sleepBinary(t)
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperStartsChild$", "-test.v")
	helper.Env = append(os.Environ(), helperEnv+"=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(rest)
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if pid == 0 {
		_ = helper.Process.Kill()
		t.Fatal("helper did not report a child pid")
	}
	if !pidRunning(pid, sleep) {
		t.Fatal("child not running while its parent lives")
	}
	// SIGKILL: no deferred cleanup in the helper can run.
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	eventually(t, 5*time.Second, "the orphaned child to die", func() bool { return !pidRunning(pid, sleep) })
}

func TestStopByPIDChecksIdentity(t *testing.T) {
	sleep := sleepBinary(t)
	p, err := startProcess(nil, true, "sleep", sleep, filepath.Join(t.TempDir(), "sleep.log"), "60")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })

	impostor := &process{Name: "etcd", PID: p.PID, Exe: "/nonexistent/etcd"}
	if impostor.alive() {
		t.Fatal("a pid running another binary must not count as ours")
	}
	if err := impostor.stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.alive() {
		t.Fatal("stop signalled a process that runs a different binary")
	}

	byPID := &process{Name: "sleep", PID: p.PID, Exe: sleep}
	if !byPID.alive() {
		t.Fatal("pid-tracked process not seen as alive")
	}
	if err := byPID.stop(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

func TestStopDir(t *testing.T) {
	sleep := sleepBinary(t)
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var procs []*process
	for _, name := range []string{"etcd", "kube-apiserver"} {
		p, err := startProcess(nil, true, name, sleep, filepath.Join(dir, name+".log"), "60")
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	if err := writeState(dir, &stateFile{Kubeconfig: filepath.Join(dir, "kubeconfig"), ControlPlaneQPS: 300, Detached: true, Processes: procs}); err != nil {
		t.Fatal(err)
	}

	st, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running() || len(st.Processes) != 2 || st.ControlPlaneQPS != 300 {
		t.Fatalf("unexpected state %+v", st)
	}

	if err := StopDir(dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.alive() {
			t.Fatalf("%s still alive", p.Name)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state dir not removed: %v", err)
	}
	if err := StopDir(dir, io.Discard); !errors.Is(err, ErrNoState) {
		t.Fatalf("second StopDir: got %v, want ErrNoState", err)
	}
}

func TestLockFileIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.lock")
	unlock, _, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if _, _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock: got %v, want a timeout", err)
	}
	unlock()
	unlock2, waited, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	unlock2()
	if waited > time.Second {
		t.Fatalf("free lock took %s", waited)
	}
}
