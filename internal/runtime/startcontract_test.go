package runtime

// These tests run the generated start command as a local process against a
// directory tree laid out like the runtime images, with small stand-ins for
// the runtime servers. The Node.js tests use the machine's node and npm and
// the public npm registry (or a local fake registry); the Python tests use
// the machine's python and pip without any package index.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	installTimeout = 4 * time.Minute
	testFunction   = "contract-fn"
	testNamespace  = "contract-ns"
)

// nodeServerJS stands in for the Node.js runtime server: it loads the module
// named by HANDLER_PATH relative to its own directory, answers GET /healthz
// and hands every other request to main(event, context).
const nodeServerJS = `'use strict';
const http = require('http');
const path = require('path');
const handler = require(path.join(__dirname, process.env.HANDLER_PATH || './handler.js'));
const port = Number(process.env.PORT || 8080);
http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, {'Content-Type': 'text/plain'});
    res.end('OK');
    return;
  }
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', async () => {
    try {
      const event = {data: body, extensions: {request: req, response: res}};
      const context = {'function-name': process.env.FUNC_NAME, 'runtime': process.env.FUNC_RUNTIME};
      const result = await handler.main(event, context);
      res.writeHead(200, {'Content-Type': 'text/plain'});
      res.end(typeof result === 'string' ? result : JSON.stringify(result));
    } catch (err) {
      res.writeHead(500, {'Content-Type': 'text/plain'});
      res.end(String(err && err.stack || err));
    }
  });
}).listen(port, '127.0.0.1', () => console.log('runtime stand-in listening on ' + port));
`

const nodeServerPackageJSON = `{
  "name": "runtime-stand-in",
  "version": "1.0.0",
  "private": true,
  "scripts": {"start": "node server.js"}
}
`

// handlerJS uses its dependency, and reports the dependency's version as
// node resolves it from the handler's location.
const handlerJS = `const isNumber = require('is-number');
const version = require('is-number/package.json').version;
module.exports = {
  main: function (event, context) {
    const v = new URL(event.extensions.request.url, 'http://localhost').searchParams.get('v');
    return context['function-name'] + ': ' + v + ' is a number: ' + isNumber(v) + ' (is-number ' + version + ')';
  }
};
`

func handlerPackageJSON(isNumberVersion string) string {
	return `{
  "name": "contract-fn",
  "version": "0.0.1",
  "dependencies": {"is-number": "` + isNumberVersion + `"},
  "devDependencies": {"left-pad": "1.3.0"}
}
`
}

// nodeLayout is a temporary tree shaped like the Node.js runtime image plus
// the Pod's mounts.
type nodeLayout struct {
	root      string
	serverDir string // <root>/usr/src/app
	workDir   string // <root>/usr/src/app/function (the emptyDir)
	sourceDir string // the ConfigMap mount
	registry  string // the optional registry config Secret mount
	home      string
	cache     string
	port      int
}

func newNodeLayout(t *testing.T, files map[string]string) nodeLayout {
	t.Helper()
	root := t.TempDir()
	l := nodeLayout{
		root:      root,
		serverDir: filepath.Join(root, "usr", "src", "app"),
		workDir:   filepath.Join(root, "usr", "src", "app", "function"),
		sourceDir: filepath.Join(root, "serverless", "source"),
		registry:  filepath.Join(root, "serverless", "package-registry-config"),
		home:      filepath.Join(root, "home"),
		cache:     filepath.Join(root, "tmp", "npm-cache"),
		port:      freePort(t),
	}
	for _, d := range []string{l.workDir, l.sourceDir, l.home, l.cache} {
		mustMkdir(t, d)
	}
	mustWrite(t, filepath.Join(l.serverDir, "server.js"), nodeServerJS)
	mustWrite(t, filepath.Join(l.serverDir, "package.json"), nodeServerPackageJSON)
	for name, content := range files {
		mustWrite(t, filepath.Join(l.sourceDir, name), content)
	}
	makeReadOnly(t, l.sourceDir)
	return l
}

func (l nodeLayout) runtime(t *testing.T) Runtime {
	t.Helper()
	r, ok := Lookup("nodejs22")
	if !ok {
		t.Fatal("nodejs22 not in the catalog")
	}
	r.ServerDir = l.serverDir
	r.AppDir = l.workDir
	return r
}

func (l nodeLayout) env(r Runtime) []string {
	env := baseEnv(func(k string) bool {
		return strings.HasPrefix(strings.ToLower(k), "npm_config_") || k == "NODE_OPTIONS" || k == "NODE_PATH"
	})
	env = append(env, "HOME="+l.home, "PORT="+strconv.Itoa(l.port))
	return append(env, runtimeEnv(r)...)
}

func requireNode(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("prerequisite missing: %s not found on PATH", tool)
		}
	}
}

var (
	registryOnce sync.Once
	registryErr  error
)

// requireNPMRegistry skips when the public npm registry cannot be reached
// through npm's own configuration (proxy, CA).
func requireNPMRegistry(t *testing.T) {
	t.Helper()
	requireNode(t)
	registryOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		home, err := os.MkdirTemp("", "npm-probe-")
		if err != nil {
			registryErr = err
			return
		}
		defer os.RemoveAll(home)
		cmd := exec.CommandContext(ctx, "npm", "view", "is-number@7.0.0", "version")
		cmd.Dir = home
		cmd.Env = append(baseEnv(func(k string) bool { return strings.HasPrefix(strings.ToLower(k), "npm_config_") }),
			"HOME="+home, "npm_config_cache="+filepath.Join(home, "cache"))
		out, err := cmd.CombinedOutput()
		if err == nil && !strings.Contains(string(out), "7.0.0") {
			err = fmt.Errorf("unexpected answer %q", out)
		}
		if err != nil {
			registryErr = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
		}
	})
	if registryErr != nil {
		t.Skipf("prerequisite missing: npm registry not reachable (npm view is-number@7.0.0): %v", registryErr)
	}
}

func TestStartContractNodeJS(t *testing.T) {
	requireNPMRegistry(t)
	l := newNodeLayout(t, map[string]string{
		"handler.js":   handlerJS,
		"package.json": handlerPackageJSON("7.0.0"),
	})
	r := l.runtime(t)
	// The registry Secret is optional: its mount point exists in no form
	// here, which must not matter.
	argv := r.StartCommand(StartOptions{
		SourceDir:         l.sourceDir,
		WorkDir:           l.workDir,
		RegistryConfigDir: l.registry,
		CacheDir:          l.cache,
	})
	p := startProcess(t, argv, l.env(r))
	base := fmt.Sprintf("http://127.0.0.1:%d", l.port)
	p.waitHealthy(t, base+"/healthz", installTimeout)

	// The code is where the runtime reads it.
	for _, name := range []string{"handler.js", "package.json"} {
		want := mustRead(t, filepath.Join(l.sourceDir, name))
		if got := mustRead(t, filepath.Join(l.workDir, name)); got != want {
			t.Errorf("%s in the work dir differs from the source:\n%s", name, got)
		}
	}
	// The pinned dependency is installed next to it, dev dependencies not.
	var installed struct{ Version string }
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(l.workDir, "node_modules", "is-number", "package.json"))), &installed); err != nil {
		t.Fatal(err)
	}
	if installed.Version != "7.0.0" {
		t.Errorf("installed is-number %s, want 7.0.0", installed.Version)
	}
	if _, err := os.Stat(filepath.Join(l.workDir, "node_modules", "left-pad")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("devDependency left-pad was installed (stat: %v)", err)
	}
	// The server calls the handler, which uses the dependency.
	status, body := httpGet(t, base+"/?v=42")
	want := testFunction + ": 42 is a number: true (is-number 7.0.0)"
	if status != http.StatusOK || body != want {
		t.Errorf("GET /?v=42 = %d %q, want 200 %q\noutput:\n%s", status, body, want, p.output())
	}
	status, body = httpGet(t, base+"/?v=forty-two")
	if want := testFunction + ": forty-two is a number: false (is-number 7.0.0)"; status != http.StatusOK || body != want {
		t.Errorf("GET /?v=forty-two = %d %q, want 200 %q", status, body, want)
	}
	out := p.output()
	if !strings.Contains(out, "installing dependencies: npm install --no-audit --no-fund --no-update-notifier --omit=dev --cache "+l.cache) {
		t.Errorf("install step not logged as expected:\n%s", out)
	}
	if strings.Contains(out, "--userconfig") {
		t.Errorf("--userconfig used although the registry config is absent:\n%s", out)
	}
}

func TestStartContractNodeJSMissingVersionFails(t *testing.T) {
	requireNPMRegistry(t)
	l := newNodeLayout(t, map[string]string{
		"handler.js":   handlerJS,
		"package.json": handlerPackageJSON("999.0.0"),
	})
	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir, CacheDir: l.cache})
	p := startProcess(t, argv, l.env(r))
	code, out := p.wait(t, installTimeout)
	if code == 0 {
		t.Fatalf("start command exited 0 for a version that does not exist:\n%s", out)
	}
	if !strings.Contains(out, "ETARGET") && !strings.Contains(out, "No matching version") {
		t.Errorf("npm's error is not visible in the output:\n%s", out)
	}
	if !strings.Contains(out, "installing dependencies from package.json failed") {
		t.Errorf("the start command's own failure message is missing:\n%s", out)
	}
	if strings.Contains(out, "runtime stand-in listening") {
		t.Errorf("the server started although the install failed:\n%s", out)
	}
}

func TestStartContractNodeJSMissingHandlerFails(t *testing.T) {
	requireNode(t)
	l := newNodeLayout(t, map[string]string{"package.json": handlerPackageJSON("7.0.0")})
	r := l.runtime(t)
	p := startProcess(t, r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir}), l.env(r))
	code, out := p.wait(t, time.Minute)
	if code == 0 || !strings.Contains(out, "function source "+l.sourceDir+"/handler.js not found") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// TestStartContractNodeJSRestartAsImageUser runs the start command as the
// image's user (uid/gid 1000, when the test runs as root) against a work dir
// owned by that user, twice in a row: a container restart keeps the emptyDir,
// so the second run must cope with the read-only copies and node_modules the
// first one left.
func TestStartContractNodeJSRestartAsImageUser(t *testing.T) {
	requireNPMRegistry(t)
	l := newNodeLayout(t, map[string]string{
		"handler.js":   handlerJS,
		"package.json": handlerPackageJSON("7.0.0"),
	})
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		const imageUser = 1000
		// Only the test's own directories are changed: the user must be
		// able to traverse them (read-only) and own the writable mounts.
		testDirs := []string{filepath.Dir(l.root), l.root}
		if ancestorsTraversable(filepath.Dir(testDirs[0])) {
			cred = &syscall.Credential{Uid: imageUser, Gid: imageUser}
			for _, dir := range append(testDirs, l.serverDir, filepath.Dir(l.serverDir), filepath.Dir(filepath.Dir(l.serverDir))) {
				if err := os.Chmod(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, dir := range []string{l.workDir, l.home, filepath.Dir(l.cache)} {
				chownTree(t, dir, imageUser)
			}
		} else {
			t.Logf("the temp dir is not reachable for uid %d; running as the current user", imageUser)
		}
	}
	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir, CacheDir: l.cache})
	base := fmt.Sprintf("http://127.0.0.1:%d", l.port)
	want := testFunction + ": 7 is a number: true (is-number 7.0.0)"

	for run := 1; run <= 2; run++ {
		p := startProcessAs(t, argv, l.env(r), cred)
		p.waitHealthy(t, base+"/healthz", installTimeout)
		if status, body := httpGet(t, base+"/?v=7"); status != http.StatusOK || body != want {
			t.Fatalf("run %d: GET /?v=7 = %d %q, want 200 %q", run, status, body, want)
		}
		if cred != nil {
			fi, err := os.Stat(filepath.Join(l.workDir, "node_modules", "is-number", "package.json"))
			if err != nil {
				t.Fatal(err)
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != cred.Uid {
				t.Errorf("run %d: node_modules not written by uid %d", run, cred.Uid)
			}
		}
		p.kill(t)
	}
}

// ancestorsTraversable reports whether every directory from dir up to the
// root can be traversed by any user.
func ancestorsTraversable(dir string) bool {
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func chownTree(t *testing.T, root string, id int) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, id, id)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStartContractNodeJSPrivateRegistry points .npmrc from the registry
// config mount at a local registry that requires a token, proving that the
// Secret's configuration is what npm uses.
func TestStartContractNodeJSPrivateRegistry(t *testing.T) {
	requireNode(t)
	reg := newFakeNPMRegistry(t, "s3cret-token")

	const privateHandler = `const greet = require('tiny-private-dep');
module.exports = { main: (event, context) => greet(context['function-name']) };
`
	l := newNodeLayout(t, map[string]string{
		"handler.js":   privateHandler,
		"package.json": `{"name": "fn", "dependencies": {"tiny-private-dep": "1.0.0"}}`,
	})
	hostPort := strings.TrimPrefix(reg.server.URL, "http://")
	mustWrite(t, filepath.Join(l.registry, ".npmrc"),
		"registry="+reg.server.URL+"/\n//"+hostPort+"/:_authToken=s3cret-token\n")

	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{
		SourceDir: l.sourceDir, WorkDir: l.workDir, RegistryConfigDir: l.registry, CacheDir: l.cache,
	})
	p := startProcess(t, argv, l.env(r))
	base := fmt.Sprintf("http://127.0.0.1:%d", l.port)
	p.waitHealthy(t, base+"/healthz", installTimeout)

	status, body := httpGet(t, base+"/")
	if want := "hello " + testFunction + " from the private registry"; status != http.StatusOK || body != want {
		t.Errorf("GET / = %d %q, want 200 %q\noutput:\n%s", status, body, want, p.output())
	}
	if !strings.Contains(p.output(), "--userconfig "+l.registry+"/.npmrc") {
		t.Errorf("--userconfig not passed:\n%s", p.output())
	}
	if n := reg.authorized(); n < 2 {
		t.Errorf("registry saw %d authorized requests (packument and tarball expected); unauthorized: %d", n, reg.unauthorized())
	}
}

// fakeNPMRegistry serves one package, tiny-private-dep@1.0.0, to clients
// presenting the bearer token.
type fakeNPMRegistry struct {
	server *httptest.Server
	mu     sync.Mutex
	ok     int
	denied int
}

func newFakeNPMRegistry(t *testing.T, token string) *fakeNPMRegistry {
	t.Helper()
	tarball := npmTarball(t, map[string]string{
		"package/package.json": `{"name": "tiny-private-dep", "version": "1.0.0", "main": "index.js"}`,
		"package/index.js":     "module.exports = (name) => 'hello ' + name + ' from the private registry';\n",
	})
	sha1sum := sha1.Sum(tarball)
	sha512sum := sha512.Sum512(tarball)

	reg := &fakeNPMRegistry{}
	reg.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reg.mu.Lock()
		authorized := req.Header.Get("Authorization") == "Bearer "+token
		if authorized {
			reg.ok++
		} else {
			reg.denied++
		}
		reg.mu.Unlock()
		if !authorized {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		tarballPath := "/tiny-private-dep/-/tiny-private-dep-1.0.0.tgz"
		switch req.URL.Path {
		case "/tiny-private-dep":
			packument := map[string]any{
				"name":      "tiny-private-dep",
				"dist-tags": map[string]string{"latest": "1.0.0"},
				"versions": map[string]any{
					"1.0.0": map[string]any{
						"name":    "tiny-private-dep",
						"version": "1.0.0",
						"main":    "index.js",
						"dist": map[string]string{
							"tarball":   reg.server.URL + tarballPath,
							"shasum":    hex.EncodeToString(sha1sum[:]),
							"integrity": "sha512-" + base64.StdEncoding.EncodeToString(sha512sum[:]),
						},
					},
				},
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(packument)
		case tarballPath:
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(tarball)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(reg.server.Close)
	return reg
}

func (r *fakeNPMRegistry) authorized() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok
}

func (r *fakeNPMRegistry) unauthorized() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.denied
}

func npmTarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"package/package.json", "package/index.js"} {
		content := files[name]
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ---- Python ----

// pythonServerPy stands in for the Python runtime server: it sits next to
// the kubeless folder, loads kubeless/<MOD_NAME>.py and serves it.
const pythonServerPy = `import http.server
import importlib.util
import os

here = os.path.dirname(os.path.abspath(__file__))
mod_name = os.environ.get("MOD_NAME", "handler")
spec = importlib.util.spec_from_file_location(mod_name, os.path.join(here, "kubeless", mod_name + ".py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
func = getattr(module, os.environ.get("FUNC_HANDLER", "main"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            body = b"OK"
        else:
            body = str(func({"path": self.path}, {"function-name": os.environ.get("FUNC_NAME")})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print("python runtime stand-in listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`

type pythonLayout struct {
	root      string // server.py lives here: the parent of kubeless
	workDir   string // <root>/kubeless
	sourceDir string
	registry  string
	home      string
	bin       string // holds "python", linked to the interpreter found
	port      int
}

// requirePython finds a Python 3 interpreter with pip and exposes it as
// "python", the name the runtime image uses.
func requirePython(t *testing.T) string {
	t.Helper()
	var interpreter string
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			interpreter = p
			break
		}
	}
	if interpreter == "" {
		t.Skip("prerequisite missing: python3 not found on PATH")
	}
	out, err := exec.Command(interpreter, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skipf("prerequisite missing: %s does not run: %v", interpreter, err)
	}
	if err := exec.Command(interpreter, "-m", "pip", "--version").Run(); err != nil {
		t.Skipf("prerequisite missing: pip for %s: %v", interpreter, err)
	}
	return strings.TrimSpace(string(out))
}

func newPythonLayout(t *testing.T, files map[string]string) pythonLayout {
	t.Helper()
	executable := requirePython(t)
	root := t.TempDir()
	l := pythonLayout{
		root:      root,
		workDir:   filepath.Join(root, "kubeless"),
		sourceDir: filepath.Join(root, "serverless", "source"),
		registry:  filepath.Join(root, "serverless", "package-registry-config"),
		home:      filepath.Join(root, "home"),
		bin:       filepath.Join(root, "bin"),
		port:      freePort(t),
	}
	for _, d := range []string{l.workDir, l.sourceDir, l.home, l.bin} {
		mustMkdir(t, d)
	}
	if err := os.Symlink(executable, filepath.Join(l.bin, "python")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(root, "server.py"), pythonServerPy)
	for name, content := range files {
		mustWrite(t, filepath.Join(l.sourceDir, name), content)
	}
	makeReadOnly(t, l.sourceDir)
	return l
}

func (l pythonLayout) runtime(t *testing.T) Runtime {
	t.Helper()
	r, ok := Lookup("python312")
	if !ok {
		t.Fatal("python312 not in the catalog")
	}
	r.ServerDir = l.root
	r.AppDir = l.workDir
	return r
}

func (l pythonLayout) env(r Runtime) []string {
	// The machine's own pip settings (find-links, index) must not leak in.
	env := baseEnv(func(k string) bool {
		return strings.HasPrefix(k, "PIP_") || k == "PYTHONPATH" || k == "PYTHONHOME" || k == "PATH"
	})
	env = append(env,
		"PATH="+l.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+l.home,
		"PORT="+strconv.Itoa(l.port),
		"PIP_CONFIG_FILE="+os.DevNull, // replaced by the script when pip.conf exists
		"PYTHONPATH=/already/there",
	)
	return append(env, runtimeEnv(r)...)
}

func TestStartContractPythonNoDependencies(t *testing.T) {
	const handler = `import os


def main(event, context):
    return "|".join([context["function-name"], os.getcwd(), os.environ.get("PYTHONPATH", "")])
`
	l := newPythonLayout(t, map[string]string{
		"handler.py":       handler,
		"requirements.txt": "# nothing to install\n\n",
	})
	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir, RegistryConfigDir: l.registry})
	p := startProcess(t, argv, l.env(r))
	base := fmt.Sprintf("http://127.0.0.1:%d", l.port)
	p.waitHealthy(t, base+"/healthz", time.Minute)

	for _, name := range []string{"handler.py", "requirements.txt"} {
		if got, want := mustRead(t, filepath.Join(l.workDir, name)), mustRead(t, filepath.Join(l.sourceDir, name)); got != want {
			t.Errorf("%s in kubeless differs from the source: %q", name, got)
		}
	}
	status, body := httpGet(t, base+"/")
	want := strings.Join([]string{testFunction, l.root, filepath.Join(l.workDir, "site-packages") + ":/already/there"}, "|")
	if status != http.StatusOK || body != want {
		t.Errorf("GET / = %d %q, want 200 %q\noutput:\n%s", status, body, want, p.output())
	}
	if strings.Contains(p.output(), "installing dependencies") {
		t.Errorf("pip ran for a requirements file without requirements:\n%s", p.output())
	}
}

// TestStartContractPythonOfflineWheel installs a wheel built here through a
// pip.conf in the registry config mount (no index, find-links), the way a
// private index is configured.
func TestStartContractPythonOfflineWheel(t *testing.T) {
	const handler = `import tinydep


def main(event, context):
    return tinydep.greet(context["function-name"])
`
	l := newPythonLayout(t, map[string]string{
		"handler.py":       handler,
		"requirements.txt": "tinydep==1.0.0  # pinned\n",
	})
	wheels := filepath.Join(l.root, "wheels")
	writeWheel(t, wheels)
	mustWrite(t, filepath.Join(l.registry, "pip.conf"), "[global]\nno-index = true\nfind-links = "+wheels+"\n")

	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir, RegistryConfigDir: l.registry})
	p := startProcess(t, argv, l.env(r))
	base := fmt.Sprintf("http://127.0.0.1:%d", l.port)
	p.waitHealthy(t, base+"/healthz", 2*time.Minute)

	if _, err := os.Stat(filepath.Join(l.workDir, "site-packages", "tinydep", "__init__.py")); err != nil {
		t.Errorf("tinydep not installed into the packages dir: %v", err)
	}
	status, body := httpGet(t, base+"/")
	if want := "hello " + testFunction + " from tinydep"; status != http.StatusOK || body != want {
		t.Errorf("GET / = %d %q, want 200 %q\noutput:\n%s", status, body, want, p.output())
	}
	out := p.output()
	if !strings.Contains(out, "--no-cache-dir --target "+filepath.Join(l.workDir, "site-packages")+" -r "+filepath.Join(l.workDir, "requirements.txt")) {
		t.Errorf("pip flags not as expected:\n%s", out)
	}
}

func TestStartContractPythonMissingVersionFails(t *testing.T) {
	l := newPythonLayout(t, map[string]string{
		"handler.py":       "def main(event, context):\n    return 'unreachable'\n",
		"requirements.txt": "tinydep==9.9.9\n",
	})
	wheels := filepath.Join(l.root, "wheels")
	writeWheel(t, wheels)
	mustWrite(t, filepath.Join(l.registry, "pip.conf"), "[global]\nno-index = true\nfind-links = "+wheels+"\n")

	r := l.runtime(t)
	argv := r.StartCommand(StartOptions{SourceDir: l.sourceDir, WorkDir: l.workDir, RegistryConfigDir: l.registry})
	p := startProcess(t, argv, l.env(r))
	code, out := p.wait(t, 2*time.Minute)
	if code == 0 {
		t.Fatalf("start command exited 0 for a version that does not exist:\n%s", out)
	}
	for _, want := range []string{"No matching distribution found for tinydep==9.9.9", "installing dependencies from requirements.txt failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "python runtime stand-in listening") {
		t.Errorf("the server started although the install failed:\n%s", out)
	}
}

// writeWheel writes tinydep-1.0.0-py3-none-any.whl into dir.
func writeWheel(t *testing.T, dir string) {
	t.Helper()
	mustMkdir(t, dir)
	files := []struct{ name, content string }{
		{"tinydep/__init__.py", "def greet(name):\n    return 'hello ' + name + ' from tinydep'\n"},
		{"tinydep-1.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0.0\n"},
		{"tinydep-1.0.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: contract-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.content); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(f.content))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.content))
	}
	record.WriteString("tinydep-1.0.0.dist-info/RECORD,,\n")
	w, err := zw.Create("tinydep-1.0.0.dist-info/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, record.String()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tinydep-1.0.0-py3-none-any.whl"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---- process and file helpers ----

// startedProcess is the start command running in its own process group.
type startedProcess struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error // set before done is closed
}

func startProcess(t *testing.T, argv []string, env []string) *startedProcess {
	t.Helper()
	return startProcessAs(t, argv, env, nil)
}

// startProcessAs starts the process with the given credentials (nil: as
// this process).
func startProcessAs(t *testing.T, argv []string, env []string, cred *syscall.Credential) *startedProcess {
	t.Helper()
	p := &startedProcess{out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Dir = t.TempDir()
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	// npm start runs the server as a child: kill the whole group at the end
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %q: %v", argv[:2], err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t)
		t.Logf("start command output:\n%s", p.output())
	})
	return p
}

// kill ends the process group and waits for the start command to exit.
func (p *startedProcess) kill(t *testing.T) {
	t.Helper()
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("process %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

func (p *startedProcess) output() string { return p.out.String() }

// waitHealthy polls url until it answers 200, failing if the process exits
// first or the timeout passes.
func (p *startedProcess) waitHealthy(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("start command exited before the server became healthy: %v\n%s", p.err, p.output())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("server not healthy at %s after %s\n%s", url, timeout, p.output())
}

// wait waits for the process to exit and returns its exit code and output.
func (p *startedProcess) wait(t *testing.T, timeout time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("start command still running after %s\n%s", timeout, p.output())
	}
	var exitErr *exec.ExitError
	switch {
	case p.err == nil:
		return 0, p.output()
	case errors.As(p.err, &exitErr):
		return exitErr.ExitCode(), p.output()
	default:
		t.Fatalf("start command: %v", p.err)
		return -1, ""
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// baseEnv is this process's environment without the variables drop
// selects; proxy and CA settings stay so that a registry behind them works.
func baseEnv(drop func(key string) bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || k == "PORT" || drop(k) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runtimeEnv renders Runtime.Env as KEY=value pairs.
func runtimeEnv(r Runtime) []string {
	var env []string
	for _, e := range r.Env(FunctionMeta{Name: testFunction, Namespace: testNamespace}) {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeReadOnly makes a directory and its files read-only, like a ConfigMap
// volume, and restores write permission for the temp dir cleanup.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Chmod(filepath.Join(dir, e.Name()), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
}
