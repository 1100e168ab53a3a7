package cluster

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultStateDir is where `localcluster up` keeps its cluster.
func DefaultStateDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "localcluster", "state", "default"), nil
}

// State describes what a state dir's pid file records.
type State struct {
	Dir             string
	Kubeconfig      string
	AuditLog        string
	ControlPlaneQPS int
	Processes       []ProcessState
}

// ProcessState is one component from the pid file.
type ProcessState struct {
	Name  string
	PID   int
	Log   string
	Alive bool
}

// ErrNoState means the dir holds no pid file, i.e. nothing was started there.
var ErrNoState = errors.New("no local cluster state")

// ReadState reads the pid file of a state dir and checks which processes live.
func ReadState(dir string) (*State, error) {
	s, err := readState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoState, dir)
	}
	if err != nil {
		return nil, err
	}
	st := &State{Dir: dir, Kubeconfig: s.Kubeconfig, AuditLog: s.AuditLog, ControlPlaneQPS: s.ControlPlaneQPS}
	for _, p := range s.Processes {
		st.Processes = append(st.Processes, ProcessState{Name: p.Name, PID: p.PID, Log: p.Log, Alive: p.alive()})
	}
	return st, nil
}

// Running reports whether any recorded process is still alive.
func (s *State) Running() bool {
	for _, p := range s.Processes {
		if p.Alive {
			return true
		}
	}
	return false
}

func (s *State) pidSummary() string {
	var parts []string
	for _, p := range s.Processes {
		if p.Alive {
			parts = append(parts, fmt.Sprintf("%s=%d", p.Name, p.PID))
		}
	}
	return strings.Join(parts, " ")
}

// StopDir stops the cluster recorded in dir's pid file (typically one started
// with Detach by another process), verifies that none of its pids is alive and
// then removes dir. Processes are only signalled while their pid still belongs
// to the recorded binary.
func StopDir(dir string, log io.Writer) error {
	if log == nil {
		log = os.Stderr
	}
	s, err := readState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, statErr := os.Stat(dir); statErr == nil {
			// A start that failed before writing pids: nothing runs, just clean up.
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("removing %s: %w", dir, err)
			}
		}
		return fmt.Errorf("%w in %s", ErrNoState, dir)
	}
	if err != nil {
		return err
	}
	for i := len(s.Processes) - 1; i >= 0; i-- {
		p := s.Processes[i]
		if p.alive() {
			fmt.Fprintf(log, "stopping %s (pid %d)\n", p.Name, p.PID)
		}
		if err := p.stop(stopGrace); err != nil {
			return fmt.Errorf("stopping local cluster in %s: %w", dir, err)
		}
	}
	for _, p := range s.Processes {
		if p.alive() {
			return fmt.Errorf("local cluster in %s: %s (pid %d) is still alive; state kept", dir, p.Name, p.PID)
		}
	}
	// The components were reparented to init when `up` exited; some inits reap
	// lazily, so give it a moment to clear the zombies before reporting success.
	for _, p := range s.Processes {
		if !waitReaped(p.PID, 10*time.Second) {
			fmt.Fprintf(log, "note: %s (pid %d) has exited but is not reaped by init yet\n", p.Name, p.PID)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

func waitReaped(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for isZombie(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
