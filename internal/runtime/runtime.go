// Package runtime describes the Function runtimes and how a buildless
// Function Pod starts on Kyma's prebuilt runtime images.
//
// A buildless Pod has no image built for the Function. Its main container
// runs the runtime image with a start command (see Runtime.StartCommand)
// that copies the inline source and the dependency file from a read-only
// ConfigMap mount into a writable emptyDir where the runtime server expects
// the code, installs the dependencies there, and then replaces itself with
// the runtime server. The Pod's root filesystem is read-only; the Pod needs
// emptyDirs at every path Runtime.WritableDirs lists.
package runtime

import (
	"slices"
	"strings"
)

// Languages of the supported runtimes.
const (
	LanguageNodeJS = "nodejs"
	LanguagePython = "python"
)

// Port is the fixed port every runtime server listens on.
const Port = 8080

// Default mount paths of a buildless Pod, used when StartOptions leaves them
// empty. Both live outside the paths the runtime images use.
const (
	// DefaultSourceDir is where the ConfigMap with the Function's source
	// and dependency file is mounted read-only.
	DefaultSourceDir = "/serverless/source"
	// DefaultRegistryConfigDir is where the optional Secret
	// serverless-package-registry-config is mounted (.npmrc, pip.conf).
	DefaultRegistryConfigDir = "/serverless/package-registry-config"
)

// RegistryConfigSecretName is the per-namespace Secret that configures
// private package registries for Functions in that namespace.
const RegistryConfigSecretName = "serverless-package-registry-config"

// Runtime describes one runtime image and the layout it expects.
//
// Lookup returns the values for Kyma's images. Every path is a field so that
// the start command can be exercised against a different layout, such as
// temporary directories in a test.
type Runtime struct {
	// Name as used in Function.spec.runtime, e.g. "nodejs22".
	Name string
	// Language is LanguageNodeJS or LanguagePython.
	Language string
	// Deprecated runtimes still run but new Functions should not use them.
	Deprecated bool

	// AppDir is where the runtime reads the Function's code
	// (/usr/src/app/function for Node.js, /kubeless for Python). The Pod
	// mounts a writable emptyDir here; dependencies are installed here too.
	AppDir string
	// HandlerFile and DepsFile are the file names of the source and the
	// dependency file, both in the ConfigMap and in AppDir.
	HandlerFile string
	DepsFile    string
	// RegistryConfigFile is the key of the registry config Secret this
	// runtime's installer reads (".npmrc" or "pip.conf").
	RegistryConfigFile string
	// PackagesDir is, for Python, the directory under AppDir that pip
	// installs into (pip --target); it is prepended to PYTHONPATH. Node.js
	// installs into AppDir/node_modules, where require() finds it.
	PackagesDir string

	// ServerDir is the working directory of the runtime server and
	// ServerCommand the command that starts it there.
	ServerDir     string
	ServerCommand []string
	// InstallCommand installs dependencies. The start command appends the
	// registry configuration, cache and target options to it.
	InstallCommand []string
	// TmpDir is the writable temporary directory the image uses (npm cache,
	// pip build files); the Pod mounts an emptyDir there.
	TmpDir string
}

var catalog = map[string]Runtime{
	"nodejs20":  nodeJS("nodejs20", true),
	"nodejs22":  nodeJS("nodejs22", false),
	"nodejs24":  nodeJS("nodejs24", false),
	"python312": python("python312", false),
}

func nodeJS(name string, deprecated bool) Runtime {
	return Runtime{
		Name:               name,
		Language:           LanguageNodeJS,
		Deprecated:         deprecated,
		AppDir:             "/usr/src/app/function",
		HandlerFile:        "handler.js",
		DepsFile:           "package.json",
		RegistryConfigFile: ".npmrc",
		ServerDir:          "/usr/src/app",
		ServerCommand:      []string{"npm", "start"},
		InstallCommand:     []string{"npm", "install", "--no-audit", "--no-fund", "--no-update-notifier", "--omit=dev"},
		TmpDir:             "/tmp",
	}
}

func python(name string, deprecated bool) Runtime {
	return Runtime{
		Name:               name,
		Language:           LanguagePython,
		Deprecated:         deprecated,
		AppDir:             "/kubeless",
		HandlerFile:        "handler.py",
		DepsFile:           "requirements.txt",
		RegistryConfigFile: "pip.conf",
		// a hyphenated name can never shadow an importable module
		PackagesDir:    "site-packages",
		ServerDir:      "/",
		ServerCommand:  []string{"python", "server.py"},
		InstallCommand: []string{"python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input"},
		TmpDir:         "/tmp",
	}
}

// Lookup returns the runtime with the given name. The returned value is a
// copy: changing it does not affect later lookups.
func Lookup(name string) (Runtime, bool) {
	r, ok := catalog[name]
	if !ok {
		return Runtime{}, false
	}
	r.ServerCommand = slices.Clone(r.ServerCommand)
	r.InstallCommand = slices.Clone(r.InstallCommand)
	return r, true
}

// Names lists the supported runtime names, sorted.
func Names() []string {
	names := make([]string, 0, len(catalog))
	for n := range catalog {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// WritableDirs lists the paths that need a writable emptyDir in the Pod,
// because the root filesystem is read-only.
func (r Runtime) WritableDirs() []string {
	dirs := []string{r.AppDir}
	if r.TmpDir != "" && r.TmpDir != r.AppDir {
		dirs = append(dirs, r.TmpDir)
	}
	return dirs
}

// handlerPath is HANDLER_PATH for Node.js: the handler relative to
// ServerDir, in the "./function/handler.js" form the runtime expects. If
// AppDir is not below ServerDir the absolute path is returned.
func (r Runtime) handlerPath() string {
	server := strings.TrimSuffix(r.ServerDir, "/")
	if rel, ok := strings.CutPrefix(r.AppDir, server+"/"); ok && rel != "" {
		return "./" + strings.TrimSuffix(rel, "/") + "/" + r.HandlerFile
	}
	return strings.TrimSuffix(r.AppDir, "/") + "/" + r.HandlerFile
}
