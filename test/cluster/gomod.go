package cluster

import (
	"bufio"
	"fmt"
	"sort"
	"strings"
)

// stagingReplaces returns the module paths that k8s.io/kubernetes replaces with a
// local directory (its staging repositories). Those replace directives are ignored
// for any module that depends on k8s.io/kubernetes, so a builder module has to
// repeat them with published versions.
func stagingReplaces(goMod string) ([]string, error) {
	var mods []string
	seen := map[string]bool{}
	add := func(line string) error {
		left, right, ok := strings.Cut(line, "=>")
		if !ok {
			return fmt.Errorf("malformed replace directive %q", line)
		}
		leftFields := strings.Fields(left)
		rightFields := strings.Fields(right)
		if len(leftFields) == 0 || len(rightFields) == 0 {
			return fmt.Errorf("malformed replace directive %q", line)
		}
		target := rightFields[0]
		// Only directory targets are staging modules; a module@version target is
		// honoured by the go command already and must not be overridden.
		if !isLocalPath(target) || len(rightFields) != 1 {
			return nil
		}
		mod := leftFields[0]
		if !seen[mod] {
			seen[mod] = true
			mods = append(mods, mod)
		}
		return nil
	}

	inBlock := false
	sc := bufio.NewScanner(strings.NewReader(goMod))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		switch {
		case inBlock && line == ")":
			inBlock = false
		case inBlock:
			if err := add(line); err != nil {
				return nil, err
			}
		case line == "replace (" || (strings.HasPrefix(line, "replace") && strings.TrimSpace(strings.TrimPrefix(line, "replace")) == "("):
			inBlock = true
		case strings.HasPrefix(line, "replace "):
			if err := add(strings.TrimPrefix(line, "replace ")); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading go.mod: %w", err)
	}
	if inBlock {
		return nil, fmt.Errorf("unterminated replace block in go.mod")
	}
	sort.Strings(mods)
	return mods, nil
}

func isLocalPath(p string) bool {
	return strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") || p == "." || p == ".."
}

// goDirective returns the version from a go.mod "go" line, or "" when absent.
func goDirective(goMod string) string {
	for _, line := range strings.Split(goMod, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}

// stagingVersion maps a Kubernetes release (v1.X.Y) to the version its staging
// modules are published under (v0.X.Y).
func stagingVersion(k8sVersion string) (string, error) {
	rest, ok := strings.CutPrefix(k8sVersion, "v1.")
	if !ok || rest == "" {
		return "", fmt.Errorf("unexpected Kubernetes version %q, want v1.X.Y", k8sVersion)
	}
	return "v0." + rest, nil
}

// kubernetesBuilderGoMod renders the go.mod of the throwaway module that builds the
// Kubernetes control-plane binaries. kubernetesGoMod is the go.mod of
// k8s.io/kubernetes itself.
func kubernetesBuilderGoMod(kubernetesGoMod, k8sVersion string) (string, error) {
	stagingVer, err := stagingVersion(k8sVersion)
	if err != nil {
		return "", err
	}
	mods, err := stagingReplaces(kubernetesGoMod)
	if err != nil {
		return "", err
	}
	if len(mods) == 0 {
		return "", fmt.Errorf("no staging replace directives found in the go.mod of k8s.io/kubernetes %s", k8sVersion)
	}
	goVer := goDirective(kubernetesGoMod)
	if goVer == "" {
		goVer = "1.26.0"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "module localcluster/kubernetes\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", goVer, k8sVersion)
	for _, m := range mods {
		fmt.Fprintf(&b, "\t%s => %s %s\n", m, m, stagingVer)
	}
	b.WriteString(")\n")
	return b.String(), nil
}
