package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launcher starts child processes from one OS thread that stays alive until the
// launcher is closed. Pdeathsig is tied to the thread that forked the child, not
// to the process: forking from an arbitrary goroutine would let the child be
// killed whenever the Go runtime retires that thread.
type launcher struct {
	reqs chan launchRequest
}

type launchRequest struct {
	cmd *exec.Cmd
	res chan error
}

func newLauncher() *launcher {
	l := &launcher{reqs: make(chan launchRequest)}
	go func() {
		// Never unlocked: when this goroutine returns the thread exits with it,
		// which is also the moment children must not outlive.
		runtime.LockOSThread()
		for r := range l.reqs {
			r.res <- r.cmd.Start()
		}
	}()
	return l
}

func (l *launcher) start(cmd *exec.Cmd) error {
	res := make(chan error, 1)
	l.reqs <- launchRequest{cmd: cmd, res: res}
	return <-res
}

// close must only be called once every child started through l is gone.
func (l *launcher) close() { close(l.reqs) }

// process is one control-plane component.
type process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Exe  string `json:"exe"`
	Log  string `json:"log,omitempty"`

	// Set only for processes this process started; others are tracked by PID.
	cmd    *exec.Cmd
	exited chan struct{}
}

// startProcess runs exe with args, stdout and stderr going to logPath. Detached
// processes get their own session so they survive the caller and its terminal;
// attached ones die with the launcher thread.
func startProcess(l *launcher, detach bool, name, exe, logPath string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating log for %s: %w", name, err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", os.DevNull, err)
	}
	defer devnull.Close()

	cmd := exec.Command(exe, args...)
	cmd.Stdin = devnull
	cmd.Stdout = logf
	cmd.Stderr = logf
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err = cmd.Start()
	} else {
		// Own process group: a terminal's Ctrl-C reaches only the test process,
		// which then stops the components in order.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		err = l.start(cmd)
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{Name: name, PID: cmd.Process.Pid, Exe: exe, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// alive reports whether the process still runs. For processes we did not start it
// also checks that the PID still belongs to the recorded binary, so a reused PID
// is never signalled.
func (p *process) alive() bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return false
		default:
			return true
		}
	}
	return pidRunning(p.PID, p.Exe)
}

func pidRunning(pid int, exe string) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if isZombie(pid) {
		return false
	}
	if exe == "" {
		return true
	}
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		// Unreadable (another user's process): not ours.
		return false
	}
	link = strings.TrimSuffix(link, " (deleted)")
	return link == exe
}

// isZombie reports a process that has finished and only waits for its parent to
// reap it.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The command name in parentheses may contain spaces; the state follows it.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(stat[i+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs and waits again.
func (p *process) stop(grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	if p.waitExit(grace) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	if p.waitExit(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) still running after SIGKILL", p.Name, p.PID)
}

func (p *process) waitExit(d time.Duration) bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true
		case <-time.After(d):
			return false
		}
	}
	deadline := time.Now().Add(d)
	for {
		if !p.alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stateFile records what runs in a state dir so another process (`localcluster
// down`, `status`) can find and stop it.
const stateFileName = "pids.json"

type stateFile struct {
	Kubeconfig      string     `json:"kubeconfig"`
	AuditLog        string     `json:"auditLog,omitempty"`
	ControlPlaneQPS int        `json:"controlPlaneQPS"`
	Detached        bool       `json:"detached"`
	Processes       []*process `json:"processes"` // in start order
}

func writeState(dir string, s *stateFile) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}
	tmp := filepath.Join(dir, stateFileName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, stateFileName)); err != nil {
		return fmt.Errorf("writing state: %w", err)
	}
	return nil
}

func readState(dir string) (*stateFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if err != nil {
		return nil, err
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Join(dir, stateFileName), err)
	}
	return &s, nil
}

// stopAll stops processes in reverse start order, so kwok and the controllers go
// before the API server, and the API server before etcd (the other way round the
// API server can hang in shutdown).
func stopAll(procs []*process, grace time.Duration) error {
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(grace); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range procs {
		if p.alive() {
			errs = append(errs, fmt.Errorf("%s (pid %d) is still alive", p.Name, p.PID))
		}
	}
	return errors.Join(errs...)
}

func pidList(procs []*process) string {
	var parts []string
	for _, p := range procs {
		parts = append(parts, p.Name+"="+strconv.Itoa(p.PID))
	}
	return strings.Join(parts, " ")
}
