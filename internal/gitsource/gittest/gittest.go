// Package gittest serves Git repositories over HTTP on loopback for tests: the machine's git
// (git http-backend behind net/http/cgi) speaks the smart HTTP protocol, so clients see a real
// Git server. Repositories are made and changed with the git command as well.
package gittest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Server serves every repository below Root at URL + "/" + <name>.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567.
	URL string
	// Root is the directory holding the repositories.
	Root string

	srv *httptest.Server
}

// Options of NewServer.
type Options struct {
	// Username and Password, when set, are required as HTTP basic credentials.
	Username, Password string
	// Addr is the listen address; default 127.0.0.1:0. Use an address other components can
	// reach (for example a fixed port) when needed.
	Addr string
}

// NewServer serves the repositories below root.
func NewServer(root string, opts Options) (*Server, error) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is needed to serve repositories: %w", err)
	}
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	var h http.Handler = backend
	if opts.Username != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != opts.Username || p != opts.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			backend.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewUnstartedServer(h)
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			return nil, err
		}
		_ = srv.Listener.Close()
		srv.Listener = l
	}
	srv.Start()
	return &Server{URL: srv.URL, Root: root, srv: srv}, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// RepoURL is the clone URL of the repository named name.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name }

// Repo is a non-bare repository with a working tree, changed with the git command.
type Repo struct {
	Dir string
}

// InitRepo creates a repository in dir (created when missing) whose default branch is branch.
func InitRepo(dir, branch string) (*Repo, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &Repo{Dir: dir}
	if _, err := r.Git("init", "--quiet", "--initial-branch="+branch); err != nil {
		return nil, err
	}
	return r, nil
}

// Git runs git in the repository and returns its trimmed standard output.
func (r *Repo) Git(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com",
		"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.Dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// Commit writes the files (path relative to the repository: content) and commits all changes,
// returning the new commit hash.
func (r *Repo) Commit(files map[string]string, message string) (string, error) {
	for name, content := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := r.Git("add", "--all"); err != nil {
		return "", err
	}
	if _, err := r.Git("commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	return r.Head()
}

// Head returns the commit hash of HEAD.
func (r *Repo) Head() (string, error) { return r.Git("rev-parse", "HEAD") }
