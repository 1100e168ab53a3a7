// Package depcheck finds dependency declarations of a Function that are not
// pinned to one exact version.
//
// In buildless mode the dependencies of a Function are installed every time a
// Pod starts. A declaration such as "^4.17.0" or "requests>=2" therefore
// resolves to whatever the package index offers at that moment, and replicas
// started on different days run different code. The checks here are purely
// syntactic: they never contact a registry.
//
// The package understands the two dependency files the runtimes use:
// package.json for the nodejs* runtimes (see CheckNPM) and requirements.txt
// for the python* runtimes (see CheckPip).
package depcheck

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Finding is one dependency declaration that can resolve differently at a
// later Pod start, or that cannot be resolved inside a Pod at all.
type Finding struct {
	// Name is the package name as written in the dependency file. For
	// requirements that carry no name (a bare URL, an included file) it is
	// the most descriptive thing available: the #egg= name, the URL or the
	// path.
	Name string
	// Spec is the version specification as written, without the name. It is
	// empty when the file gives none (a bare Python requirement).
	Spec string
	// Reason says briefly why the declaration is not pinned, for example
	// "caret range" or "not ==".
	Reason string
}

// Reasons reported in Finding.Reason. They are exported so that callers and
// tests can compare without repeating the text.
const (
	// Node.js (package.json)
	ReasonEmpty          = "empty spec (any version)"
	ReasonAny            = "wildcard (any version)"
	ReasonXRange         = "wildcard range"
	ReasonPartial        = "partial version"
	ReasonCaret          = "caret range"
	ReasonTilde          = "tilde range"
	ReasonComparison     = "comparison range"
	ReasonUnion          = "union range (||)"
	ReasonHyphen         = "hyphen range"
	ReasonDistTag        = "dist-tag"
	ReasonInvalidVersion = "invalid version"
	ReasonUnrecognized   = "unrecognized spec"
	ReasonAliasNoVersion = "npm alias without version (latest)"
	ReasonAliasTarget    = "npm alias to a non-registry spec"
	ReasonWorkspace      = "workspace protocol (unresolvable in a Pod)"
	ReasonTarball        = "remote tarball URL without commit SHA"

	// Shared by both ecosystems
	ReasonLocalPath      = "local path (unresolvable in a Pod)"
	ReasonGitNoRef       = "git source without commit (default branch)"
	ReasonGitRef         = "git ref is not a full commit SHA"
	ReasonGitSemver      = "git semver range"
	ReasonUnsupportedURL = "unsupported URL scheme"

	// Python (requirements.txt)
	ReasonNoVersion     = "no version"
	ReasonNotEqual      = "not =="
	ReasonWildcardEqual = "wildcard =="
	ReasonURLNoHash     = "URL without hash"
	ReasonInclude       = "included requirements file cannot be checked"
	ReasonConstraints   = "constraints file cannot be checked"
)

// Check dispatches on the runtime name: nodejs* runtimes read package.json
// (CheckNPM), python* runtimes read requirements.txt (CheckPip). Empty or
// whitespace-only dependencies yield no findings. An unknown runtime is an
// error.
func Check(runtime string, dependencies string) ([]Finding, error) {
	switch {
	case strings.HasPrefix(runtime, "nodejs"):
		if strings.TrimSpace(dependencies) == "" {
			return nil, nil
		}
		return CheckNPM([]byte(dependencies))
	case strings.HasPrefix(runtime, "python"):
		if strings.TrimSpace(dependencies) == "" {
			return nil, nil
		}
		return CheckPip([]byte(dependencies))
	default:
		return nil, fmt.Errorf("depcheck: unsupported runtime %q (want nodejs* or python*)", runtime)
	}
}

// Summary renders findings as one message for a Function's status or an
// event. Findings are listed sorted by name, then spec, so the message does
// not change between reconciliations. No findings give an empty string.
func Summary(findings []Finding) string {
	if len(findings) == 0 {
		return ""
	}
	sorted := slices.Clone(findings)
	slices.SortStableFunc(sorted, func(a, b Finding) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Spec, b.Spec); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	parts := make([]string, 0, len(sorted))
	for _, f := range sorted {
		if f.Spec == "" {
			parts = append(parts, fmt.Sprintf("%s (%s)", f.Name, f.Reason))
		} else {
			parts = append(parts, fmt.Sprintf("%s %q (%s)", f.Name, f.Spec, f.Reason))
		}
	}
	return "unpinned dependencies resolve differently at each Pod start: " +
		strings.Join(parts, ", ") + "; pin exact versions"
}

// commitSHA matches a full git object name: SHA-1 (40 hex digits) or
// SHA-256 (64 hex digits). Abbreviated hashes are refused on purpose: they
// can become ambiguous as a repository grows.
var commitSHA = regexp.MustCompile(`^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)

func isCommitSHA(s string) bool { return commitSHA.MatchString(s) }
