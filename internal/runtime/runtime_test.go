package runtime

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestLookup(t *testing.T) {
	cases := []struct {
		name       string
		language   string
		deprecated bool
		appDir     string
		serverDir  string
		handler    string
		deps       string
	}{
		{"nodejs20", LanguageNodeJS, true, "/usr/src/app/function", "/usr/src/app", "handler.js", "package.json"},
		{"nodejs22", LanguageNodeJS, false, "/usr/src/app/function", "/usr/src/app", "handler.js", "package.json"},
		{"nodejs24", LanguageNodeJS, false, "/usr/src/app/function", "/usr/src/app", "handler.js", "package.json"},
		{"python312", LanguagePython, false, "/kubeless", "/", "handler.py", "requirements.txt"},
	}
	for _, c := range cases {
		r, ok := Lookup(c.name)
		if !ok {
			t.Fatalf("Lookup(%q) not found", c.name)
		}
		got := []any{r.Name, r.Language, r.Deprecated, r.AppDir, r.ServerDir, r.HandlerFile, r.DepsFile}
		want := []any{c.name, c.language, c.deprecated, c.appDir, c.serverDir, c.handler, c.deps}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Lookup(%q) = %v, want %v", c.name, got, want)
		}
	}
	for _, name := range []string{"", "nodejs18", "python39", "NodeJS22"} {
		if _, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) found a runtime", name)
		}
	}
	if got, want := Names(), []string{"nodejs20", "nodejs22", "nodejs24", "python312"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}

	// Lookup hands out copies.
	r, _ := Lookup("nodejs22")
	r.ServerCommand[0] = "changed"
	r.InstallCommand[0] = "changed"
	again, _ := Lookup("nodejs22")
	if again.ServerCommand[0] != "npm" || again.InstallCommand[0] != "npm" {
		t.Errorf("modifying a looked-up Runtime changed the catalog: %v %v", again.ServerCommand, again.InstallCommand)
	}
}

func TestWritableDirs(t *testing.T) {
	n, _ := Lookup("nodejs24")
	if got, want := n.WritableDirs(), []string{"/usr/src/app/function", "/tmp"}; !reflect.DeepEqual(got, want) {
		t.Errorf("nodejs WritableDirs() = %v, want %v", got, want)
	}
	p, _ := Lookup("python312")
	if got, want := p.WritableDirs(), []string{"/kubeless", "/tmp"}; !reflect.DeepEqual(got, want) {
		t.Errorf("python WritableDirs() = %v, want %v", got, want)
	}
}

func TestEnv(t *testing.T) {
	fn := FunctionMeta{
		Name:                   "orders",
		Namespace:              "shop",
		TraceCollectorEndpoint: "http://otel:4318/v1/traces",
		PublisherProxyAddress:  "http://eventing-publisher-proxy.kyma-system/publish",
	}
	node, _ := Lookup("nodejs22")
	want := []corev1.EnvVar{
		{Name: "FUNC_NAME", Value: "orders"},
		{Name: "FUNC_RUNTIME", Value: "nodejs22"},
		{Name: "SERVICE_NAMESPACE", Value: "shop"},
		{Name: "TRACE_COLLECTOR_ENDPOINT", Value: "http://otel:4318/v1/traces"},
		{Name: "PUBLISHER_PROXY_ADDRESS", Value: "http://eventing-publisher-proxy.kyma-system/publish"},
		{Name: "FUNC_HANDLER", Value: "main"},
		{Name: "MOD_NAME", Value: "handler"},
		{Name: "FUNC_PORT", Value: "8080"},
		{Name: "HANDLER_PATH", Value: "./function/handler.js"},
	}
	if got := node.Env(fn); !reflect.DeepEqual(got, want) {
		t.Errorf("nodejs Env()\n got  %v\n want %v", got, want)
	}

	py, _ := Lookup("python312")
	got := py.Env(FunctionMeta{Name: "orders"})
	wantPy := []corev1.EnvVar{
		{Name: "FUNC_NAME", Value: "orders"},
		{Name: "FUNC_RUNTIME", Value: "python312"},
		{Name: "SERVICE_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
		}},
		{Name: "FUNC_HANDLER", Value: "main"},
		{Name: "MOD_NAME", Value: "handler"},
		{Name: "FUNC_PORT", Value: "8080"},
		{Name: "PYTHONUNBUFFERED", Value: "TRUE"},
	}
	if !reflect.DeepEqual(got, wantPy) {
		t.Errorf("python Env()\n got  %v\n want %v", got, wantPy)
	}

	// HANDLER_PATH follows the layout.
	moved := node
	moved.ServerDir = "/srv/app/"
	moved.AppDir = "/srv/app/code/fn"
	if got := envValue(moved.Env(fn), "HANDLER_PATH"); got != "./code/fn/handler.js" {
		t.Errorf("HANDLER_PATH = %q, want ./code/fn/handler.js", got)
	}
	moved.AppDir = "/elsewhere"
	if got := envValue(moved.Env(fn), "HANDLER_PATH"); got != "/elsewhere/handler.js" {
		t.Errorf("HANDLER_PATH = %q, want /elsewhere/handler.js", got)
	}
}

func TestReservedEnv(t *testing.T) {
	for _, n := range []string{"FUNC_RUNTIME", "FUNC_HANDLER", "FUNC_PORT", "FUNC_HANDLER_SOURCE",
		"FUNC_HANDLER_DEPENDENCIES", "MOD_NAME", "NODE_PATH", "PYTHONPATH"} {
		if !IsReservedEnv(n) {
			t.Errorf("IsReservedEnv(%q) = false", n)
		}
	}
	for _, n := range []string{"FUNC_NAME", "MY_VAR", "func_port"} {
		if IsReservedEnv(n) {
			t.Errorf("IsReservedEnv(%q) = true", n)
		}
	}
	names := ReservedEnvNames()
	names[0] = "X"
	if !IsReservedEnv("FUNC_RUNTIME") {
		t.Error("ReservedEnvNames returned the internal slice")
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestStartCommandNodeJS(t *testing.T) {
	r, _ := Lookup("nodejs22")
	cmd := r.StartCommand(StartOptions{
		SourceDir:         "/src dir/with 'quote'",
		RegistryConfigDir: "/etc/registry",
		CacheDir:          "/tmp/npm-cache",
	})
	if len(cmd) != 3 || cmd[0] != "/bin/sh" || cmd[1] != "-c" {
		t.Fatalf("StartCommand() = %q, want /bin/sh -c <script>", cmd)
	}
	script := cmd[2]
	for _, want := range []string{
		"set -eu\n",
		`src='/src dir/with '\''quote'\'''` + "\n",
		"work='/usr/src/app/function'\n",
		"server='/usr/src/app'\n",
		"registry_config='/etc/registry'\n",
		`cp -f "$src/$handler" "$work/$handler"`,
		`cp -f "$src/$deps" "$work/$deps"`,
		`set -- 'npm' 'install' '--no-audit' '--no-fund' '--no-update-notifier' '--omit=dev'`,
		`[ -f "$registry_config/"'.npmrc' ]`,
		`set -- "$@" --userconfig "$registry_config/"'.npmrc'`,
		`set -- "$@" --cache '/tmp/npm-cache'`,
		`exit "$status"`,
		"cd \"$server\"\nexec 'npm' 'start'\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	for _, unwanted := range []string{">/dev/null", "2>/dev/null", "|| true", "PYTHONPATH", "pip"} {
		if strings.Contains(script, unwanted) {
			t.Errorf("script contains %q:\n%s", unwanted, script)
		}
	}
	if !strings.HasSuffix(script, "exec 'npm' 'start'\n") {
		t.Errorf("script does not end by exec'ing the server:\n%s", script)
	}
	checkShellSyntax(t, script)

	defaults := r.StartCommand(StartOptions{})[2]
	for _, want := range []string{"src='" + DefaultSourceDir + "'\n", "registry_config=''\n"} {
		if !strings.Contains(defaults, want) {
			t.Errorf("default script lacks %q:\n%s", want, defaults)
		}
	}
	if strings.Contains(defaults, "--cache") {
		t.Errorf("default script sets an npm cache:\n%s", defaults)
	}
}

func TestStartCommandPython(t *testing.T) {
	r, _ := Lookup("python312")
	script := r.StartCommand(StartOptions{SourceDir: "/src", RegistryConfigDir: "/etc/registry"})[2]
	for _, want := range []string{
		"work='/kubeless'\n",
		"server='/'\n",
		"handler='handler.py'\n",
		"deps='requirements.txt'\n",
		`packages="$work/"'site-packages'`,
		`rm -rf "$packages"`,
		`grep -q '^[[:space:]]*[^#[:space:]]' "$work/$deps"`,
		`PIP_CONFIG_FILE="$registry_config/"'pip.conf'` + "\n    export PIP_CONFIG_FILE",
		`set -- 'python' '-m' 'pip' 'install' '--disable-pip-version-check' '--no-input'`,
		`set -- "$@" --no-cache-dir`,
		`set -- "$@" --target "$packages" -r "$work/$deps"`,
		`PYTHONPATH="$packages${PYTHONPATH:+:$PYTHONPATH}"` + "\nexport PYTHONPATH",
		"cd \"$server\"\nexec 'python' 'server.py'\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "npm") {
		t.Errorf("python script mentions npm:\n%s", script)
	}
	// PYTHONPATH is set before the server starts, after the install
	if strings.Index(script, "export PYTHONPATH") > strings.Index(script, "exec 'python'") ||
		strings.Index(script, "--target") > strings.Index(script, "export PYTHONPATH") {
		t.Errorf("steps out of order:\n%s", script)
	}
	checkShellSyntax(t, script)

	cached := r.StartCommand(StartOptions{CacheDir: "/tmp/pip"})[2]
	if !strings.Contains(cached, `set -- "$@" --cache-dir '/tmp/pip'`) || strings.Contains(cached, "--no-cache-dir") {
		t.Errorf("cache dir not used:\n%s", cached)
	}
}

func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("prerequisite missing: sh not found on PATH")
	}
	for _, s := range []string{"", "plain", "with space", "it's", "'", `$HOME "x" \n ; rm -rf /`, "line\nbreak", "*?[a]"} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh -c printf %s: %v", shellQuote(s), err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) round-trips to %q", s, out)
		}
	}
}

// checkShellSyntax parses the script with sh -n.
func checkShellSyntax(t *testing.T, script string) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		return
	}
	if out, err := exec.Command(sh, "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s\n%s", err, out, script)
	}
}
