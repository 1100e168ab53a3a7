package runtime

import (
	"fmt"
	"strings"
)

// StartOptions are the Pod-specific inputs of the start command.
type StartOptions struct {
	// SourceDir is the read-only mount holding HandlerFile and, optionally,
	// DepsFile (a ConfigMap volume). Default: DefaultSourceDir.
	SourceDir string
	// WorkDir is the writable emptyDir the code is copied to and the
	// dependencies are installed in. It must be where the runtime reads
	// code. Default: Runtime.AppDir.
	WorkDir string
	// RegistryConfigDir is the optional mount of the Secret
	// serverless-package-registry-config. Empty means no such mount. When
	// set, the directory or the RegistryConfigFile in it may be missing
	// (the Secret volume is optional); the installer then runs with its
	// defaults.
	RegistryConfigDir string
	// CacheDir is an optional writable cache for the installer (npm
	// --cache, pip --cache-dir). Empty keeps npm's configured cache (the
	// images point it at /tmp) and disables pip's cache.
	CacheDir string
}

// StartCommand returns the main container's command: a POSIX shell script
// that
//
//  1. copies HandlerFile and DepsFile from SourceDir into WorkDir (a stale
//     DepsFile left by an earlier container run is removed first);
//  2. installs the dependencies in WorkDir when the dependency file has
//     content: for Node.js `npm install --no-audit --no-fund --omit=dev`
//     with --userconfig pointing at the registry config's .npmrc when it
//     exists, for Python `pip install --target WorkDir/PackagesDir -r
//     requirements.txt` with PIP_CONFIG_FILE set to the registry config's
//     pip.conf when it exists;
//  3. for Python, prepends the packages directory to PYTHONPATH;
//  4. changes to ServerDir and execs ServerCommand, so the server becomes
//     the container's main process and receives its signals.
//
// The script stops at the first failing step (set -eu) with that step's own
// output on stdout/stderr and its exit code, so an install error shows in
// the container log and the container restarts. Every path is single-quoted.
func (r Runtime) StartCommand(opts StartOptions) []string {
	if opts.SourceDir == "" {
		opts.SourceDir = DefaultSourceDir
	}
	if opts.WorkDir == "" {
		opts.WorkDir = r.AppDir
	}

	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	line("set -eu")
	line("src=%s", shellQuote(opts.SourceDir))
	line("work=%s", shellQuote(opts.WorkDir))
	line("server=%s", shellQuote(r.ServerDir))
	line("registry_config=%s", shellQuote(opts.RegistryConfigDir))
	line("handler=%s", shellQuote(r.HandlerFile))
	line("deps=%s", shellQuote(r.DepsFile))
	line("")
	line(`if [ ! -f "$src/$handler" ]; then`)
	line(`  echo "function source $src/$handler not found" >&2`)
	line(`  exit 1`)
	line(`fi`)
	line(`mkdir -p "$work"`)
	line(`cp -f "$src/$handler" "$work/$handler"`)
	line(`rm -f "$work/$deps"`)
	line(`if [ -f "$src/$deps" ]; then`)
	line(`  cp -f "$src/$deps" "$work/$deps"`)
	line(`fi`)

	switch r.Language {
	case LanguagePython:
		r.pythonInstall(line, opts)
	default:
		r.nodeInstall(line, opts)
	}

	line("")
	line(`cd "$server"`)
	line("exec %s", shellWords(r.ServerCommand))
	return []string{"/bin/sh", "-c", b.String()}
}

func (r Runtime) nodeInstall(line func(string, ...any), opts StartOptions) {
	line("")
	// an empty file means "no dependencies"; npm would reject it as JSON
	line(`if [ -s "$work/$deps" ]; then`)
	line(`  cd "$work"`)
	line(`  set -- %s`, shellWords(r.InstallCommand))
	line(`  if [ -n "$registry_config" ] && [ -f "$registry_config/"%s ]; then`, shellQuote(r.RegistryConfigFile))
	line(`    set -- "$@" --userconfig "$registry_config/"%s`, shellQuote(r.RegistryConfigFile))
	line(`  fi`)
	if opts.CacheDir != "" {
		line(`  set -- "$@" --cache %s`, shellQuote(opts.CacheDir))
	}
	installStep(line)
	line(`fi`)
}

func (r Runtime) pythonInstall(line func(string, ...any), opts StartOptions) {
	line("")
	line(`packages="$work/"%s`, shellQuote(r.PackagesDir))
	// reinstall from scratch so that a restarted container gets exactly
	// what the requirements say
	line(`rm -rf "$packages"`)
	// a file with only blank lines and comments means "no dependencies"
	line(`if [ -f "$work/$deps" ] && grep -q '^[[:space:]]*[^#[:space:]]' "$work/$deps"; then`)
	line(`  if [ -n "$registry_config" ] && [ -f "$registry_config/"%s ]; then`, shellQuote(r.RegistryConfigFile))
	line(`    PIP_CONFIG_FILE="$registry_config/"%s`, shellQuote(r.RegistryConfigFile))
	line(`    export PIP_CONFIG_FILE`)
	line(`  fi`)
	line(`  set -- %s`, shellWords(r.InstallCommand))
	if opts.CacheDir != "" {
		line(`  set -- "$@" --cache-dir %s`, shellQuote(opts.CacheDir))
	} else {
		line(`  set -- "$@" --no-cache-dir`)
	}
	line(`  set -- "$@" --target "$packages" -r "$work/$deps"`)
	installStep(line)
	line(`fi`)
	line(`PYTHONPATH="$packages${PYTHONPATH:+:$PYTHONPATH}"`)
	line(`export PYTHONPATH`)
}

// installStep runs the command in "$@", echoing it first, and exits with its
// status if it fails.
func installStep(line func(string, ...any)) {
	line(`  echo "installing dependencies: $*" >&2`)
	line(`  "$@" || {`)
	line(`    status=$?`)
	line(`    echo "installing dependencies from $deps failed (exit status $status)" >&2`)
	line(`    exit "$status"`)
	line(`  }`)
}

// shellQuote quotes s for a POSIX shell: the whole word goes in single
// quotes, and each single quote inside it is written as quote, backslash,
// quote, quote (close, escaped quote, reopen).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellWords(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	return strings.Join(quoted, " ")
}
