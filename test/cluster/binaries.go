package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Versions of the control-plane components. They key the binary cache: changing
// one rebuilds only that component.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
	KwokVersion       = "v0.8.0"
)

// recipeRevision is recorded next to the binaries; bump it when the build recipe
// changes in a way that must invalidate existing caches.
const recipeRevision = "1"

// Binaries are absolute paths into the binary cache.
type Binaries struct {
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Etcd                  string
	Kwok                  string
	// KwokStages is one multi-document YAML file with the kwok Stage objects.
	KwokStages string
}

// CacheRoot is where binaries and the state of `localcluster up` live:
// $SERVERLESS_CACHE_DIR, else <user cache dir>/kyma-serverless.
func CacheRoot() (string, error) {
	if d := os.Getenv("SERVERLESS_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the user cache dir (set SERVERLESS_CACHE_DIR): %w", err)
	}
	return filepath.Join(d, "kyma-serverless"), nil
}

func binariesDir() (string, error) {
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "localcluster"), nil
}

// component is one versioned cache entry and how to produce it.
type component struct {
	name    string // cache subdirectory, e.g. "k8s-v1.37.2"
	version string
	files   []string // produced files, relative to the component dir
	build   func(ctx context.Context, dir string) error
}

func components() []component {
	return []component{
		{
			name:    "k8s-" + KubernetesVersion,
			version: KubernetesVersion,
			files:   []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"},
			build:   buildKubernetes,
		},
		{
			name:    "etcd-" + EtcdVersion,
			version: EtcdVersion,
			files:   []string{"etcd"},
			build:   buildEtcd,
		},
		{
			name:    "kwok-" + KwokVersion,
			version: KwokVersion,
			files:   []string{"kwok", "stages.yaml"},
			build:   buildKwok,
		},
	}
}

const stampFile = ".complete"

func (c component) stamp() string {
	return fmt.Sprintf("component=%s version=%s recipe=%s\n", c.name, c.version, recipeRevision)
}

func (c component) upToDate(dir string) bool {
	got, err := os.ReadFile(filepath.Join(dir, stampFile))
	if err != nil || string(got) != c.stamp() {
		return false
	}
	for _, f := range c.files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

// EnsureBinaries returns the control-plane binaries, building any that are missing
// from the cache. It writes exactly one line to log saying whether it built or
// reused them.
func EnsureBinaries(ctx context.Context, log io.Writer) (Binaries, error) {
	if log == nil {
		log = os.Stderr
	}
	start := time.Now()
	root, err := binariesDir()
	if err != nil {
		return Binaries{}, err
	}
	bins := Binaries{
		KubeAPIServer:         filepath.Join(root, "k8s-"+KubernetesVersion, "kube-apiserver"),
		KubeControllerManager: filepath.Join(root, "k8s-"+KubernetesVersion, "kube-controller-manager"),
		KubeScheduler:         filepath.Join(root, "k8s-"+KubernetesVersion, "kube-scheduler"),
		Etcd:                  filepath.Join(root, "etcd-"+EtcdVersion, "etcd"),
		Kwok:                  filepath.Join(root, "kwok-"+KwokVersion, "kwok"),
		KwokStages:            filepath.Join(root, "kwok-"+KwokVersion, "stages.yaml"),
	}

	comps := components()
	missing := func() []component {
		var out []component
		for _, c := range comps {
			if !c.upToDate(filepath.Join(root, c.name)) {
				out = append(out, c)
			}
		}
		return out
	}

	// The common case needs no lock: finished components are stamped only after
	// all their files are in place.
	if len(missing()) == 0 {
		fmt.Fprintf(log, "local cluster binaries: reused from cache %s (checked in %s)\n", root, roundDuration(time.Since(start)))
		return bins, nil
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("creating binary cache %s: %w", root, err)
	}
	unlock, waited, err := lockFile(ctx, filepath.Join(root, "build.lock"))
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()

	// Another process may have built while we waited for the lock.
	todo := missing()
	if len(todo) == 0 {
		fmt.Fprintf(log, "local cluster binaries: reused from cache %s (checked in %s, waited %s for a concurrent build)\n",
			root, roundDuration(time.Since(start)), roundDuration(waited))
		return bins, nil
	}

	var built []string
	for _, c := range todo {
		dir := filepath.Join(root, c.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Binaries{}, fmt.Errorf("creating %s: %w", dir, err)
		}
		_ = os.Remove(filepath.Join(dir, stampFile))
		if err := c.build(ctx, dir); err != nil {
			return Binaries{}, fmt.Errorf("building %s (log: %s): %w", c.name, filepath.Join(dir, "build.log"), err)
		}
		for _, f := range c.files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return Binaries{}, fmt.Errorf("building %s: expected output missing: %w", c.name, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, stampFile), []byte(c.stamp()), 0o644); err != nil {
			return Binaries{}, fmt.Errorf("stamping %s: %w", dir, err)
		}
		built = append(built, c.name)
	}
	fmt.Fprintf(log, "local cluster binaries: built in %s (%s; cache %s)\n",
		roundDuration(time.Since(start)), strings.Join(built, ", "), root)
	return bins, nil
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Second)
	}
}

// lockFile takes an exclusive flock, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string) (unlock func(), waited time.Duration, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	start := time.Now()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, 0, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, 0, fmt.Errorf("waiting for build lock %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, time.Since(start), nil
}

// goRunner runs the go command in a builder module and keeps its output in a log.
type goRunner struct {
	dir string // module dir
	log io.Writer
}

func (g goRunner) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = g.dir
	// A go.work of the surrounding checkout or a vendoring GOFLAGS must not leak
	// into the builder modules.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, g.log)
	fmt.Fprintf(g.log, "$ go %s\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 30))
	}
	return stdout.Bytes(), nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

type moduleInfo struct {
	Path    string
	Version string
	GoMod   string
	Dir     string
	Error   string
}

func (g goRunner) download(ctx context.Context, modVersion string) (moduleInfo, error) {
	out, err := g.run(ctx, "mod", "download", "-json", modVersion)
	var info moduleInfo
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return info, fmt.Errorf("go mod download %s: %s", modVersion, info.Error)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return info, fmt.Errorf("parsing go mod download output for %s: %w", modVersion, err)
	}
	return info, nil
}

// newBuilder prepares an empty module directory <dir>/src and a build log.
func newBuilder(dir string) (goRunner, func(), error) {
	src := filepath.Join(dir, "src")
	if err := os.RemoveAll(src); err != nil {
		return goRunner{}, nil, fmt.Errorf("cleaning %s: %w", src, err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return goRunner{}, nil, fmt.Errorf("creating %s: %w", src, err)
	}
	logf, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		return goRunner{}, nil, fmt.Errorf("creating build log: %w", err)
	}
	return goRunner{dir: src, log: logf}, func() { logf.Close() }, nil
}

func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// buildInto builds main packages into a scratch dir and renames them into dir, so
// an interrupted build never leaves a truncated binary under the final name.
func (g goRunner) buildInto(ctx context.Context, dir string, ldflags string, pkgs ...string) error {
	tmp, err := os.MkdirTemp(dir, ".out-")
	if err != nil {
		return fmt.Errorf("creating build output dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"build"}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	args = append(args, "-o", tmp+string(os.PathSeparator))
	args = append(args, pkgs...)
	if _, err := g.run(ctx, args...); err != nil {
		return err
	}
	for _, p := range pkgs {
		name := filepath.Base(p)
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("installing %s: %w", name, err)
		}
	}
	return nil
}

func kubernetesLDFlags(version string) (string, error) {
	v := strings.TrimPrefix(version, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("unexpected Kubernetes version %q", version)
	}
	// Without these the API server reports v0.0.0-master, which breaks Helm's
	// kubeVersion checks and anything else reading discovery.
	return fmt.Sprintf("-X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=%s -X k8s.io/component-base/version.gitMinor=%s",
		version, parts[0], parts[1]), nil
}

func buildKubernetes(ctx context.Context, dir string) error {
	g, done, err := newBuilder(dir)
	if err != nil {
		return err
	}
	defer done()
	info, err := g.download(ctx, "k8s.io/kubernetes@"+KubernetesVersion)
	if err != nil {
		return err
	}
	upstream, err := os.ReadFile(info.GoMod)
	if err != nil {
		return fmt.Errorf("reading go.mod of k8s.io/kubernetes: %w", err)
	}
	goMod, err := kubernetesBuilderGoMod(string(upstream), KubernetesVersion)
	if err != nil {
		return err
	}
	pkgs := []string{
		"k8s.io/kubernetes/cmd/kube-apiserver",
		"k8s.io/kubernetes/cmd/kube-controller-manager",
		"k8s.io/kubernetes/cmd/kube-scheduler",
	}
	if err := writeFiles(g.dir, map[string]string{"go.mod": goMod, "tools.go": toolsFile(pkgs)}); err != nil {
		return err
	}
	if _, err := g.run(ctx, "mod", "tidy"); err != nil {
		return err
	}
	ldflags, err := kubernetesLDFlags(KubernetesVersion)
	if err != nil {
		return err
	}
	return g.buildInto(ctx, dir, ldflags, pkgs...)
}

func buildEtcd(ctx context.Context, dir string) error {
	g, done, err := newBuilder(dir)
	if err != nil {
		return err
	}
	defer done()
	goMod := fmt.Sprintf("module localcluster/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n", EtcdVersion)
	main := "package main\n\nimport (\n\t\"os\"\n\n\t\"go.etcd.io/etcd/server/v3/etcdmain\"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n"
	if err := os.MkdirAll(filepath.Join(g.dir, "etcd"), 0o755); err != nil {
		return fmt.Errorf("creating etcd main package: %w", err)
	}
	if err := writeFiles(g.dir, map[string]string{"go.mod": goMod, "etcd/main.go": main}); err != nil {
		return err
	}
	if _, err := g.run(ctx, "mod", "tidy"); err != nil {
		return err
	}
	return g.buildInto(ctx, dir, "", "./etcd")
}

func buildKwok(ctx context.Context, dir string) error {
	g, done, err := newBuilder(dir)
	if err != nil {
		return err
	}
	defer done()
	info, err := g.download(ctx, "sigs.k8s.io/kwok@"+KwokVersion)
	if err != nil {
		return err
	}
	stages, err := collectStages(info.Dir,
		"kustomize/stage/node/fast",
		"kustomize/stage/node/heartbeat-with-lease",
		"kustomize/stage/pod/fast",
	)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "stages.yaml"), []byte(stages), 0o644); err != nil {
		return fmt.Errorf("writing kwok stages: %w", err)
	}

	pkgs := []string{"sigs.k8s.io/kwok/cmd/kwok"}
	goMod := fmt.Sprintf("module localcluster/kwok\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n", KwokVersion)
	if err := writeFiles(g.dir, map[string]string{"go.mod": goMod, "tools.go": toolsFile(pkgs)}); err != nil {
		return err
	}
	if _, err := g.run(ctx, "mod", "tidy"); err != nil {
		return err
	}
	return g.buildInto(ctx, dir, "", pkgs...)
}

// collectStages concatenates the Stage documents of the given kustomize dirs
// (every YAML file except kustomization.yaml) into one multi-document YAML.
func collectStages(moduleDir string, dirs ...string) (string, error) {
	var docs []string
	for _, d := range dirs {
		matches, err := filepath.Glob(filepath.Join(moduleDir, d, "*.yaml"))
		if err != nil {
			return "", fmt.Errorf("listing stages in %s: %w", d, err)
		}
		sort.Strings(matches)
		n := 0
		for _, m := range matches {
			if filepath.Base(m) == "kustomization.yaml" {
				continue
			}
			b, err := os.ReadFile(m)
			if err != nil {
				return "", fmt.Errorf("reading stage: %w", err)
			}
			docs = append(docs, fmt.Sprintf("# from %s/%s\n%s", d, filepath.Base(m), strings.TrimRight(strings.TrimPrefix(string(b), "---\n"), "\n")))
			n++
		}
		if n == 0 {
			return "", fmt.Errorf("no stage YAML found in %s of the kwok module", d)
		}
	}
	return strings.Join(docs, "\n---\n") + "\n", nil
}

func toolsFile(pkgs []string) string {
	var b strings.Builder
	b.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "\t_ %q\n", p)
	}
	b.WriteString(")\n")
	return b.String()
}
