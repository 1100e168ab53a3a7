package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// CheckNPM reports the entries of a package.json that npm may resolve to a
// different version at a later install.
//
// Checked sections are the ones `npm install --omit=dev` installs for the
// root package: "dependencies", "optionalDependencies" and "peerDependencies"
// (npm 7 and later install a root package's peer dependencies unless
// peerDependenciesMeta marks them optional; optional peers are skipped).
// "devDependencies" are ignored because the runtime installs with
// --omit=dev. When a name occurs in several sections the one npm uses wins:
// optionalDependencies over dependencies over peerDependencies. Within a
// section a repeated name keeps its first position and its last value, as
// JSON.parse does. "overrides" and "bundleDependencies" are not inspected.
//
// Classification of a version spec:
//
//   - pinned: an exact semver version, optionally prefixed with "=" or "v"
//     ("1.2.3", "=1.2.3", "v1.2.3", "1.2.3-beta.1", "1.2.3+build.5");
//     a git source (git+https://, git+ssh://, git://, github:, gitlab:,
//     bitbucket:, gist:, user/repo, hosted https URLs) whose committish is a
//     full 40- or 64-hex commit SHA; a remote tarball URL that has such a
//     commit SHA as a path element (e.g. GitHub archive or codeload URLs of a
//     commit), because that content is addressed by the commit;
//   - unpinned: empty spec, "*", "x", dist-tags such as "latest" or "next",
//     caret, tilde, comparison, union and hyphen ranges, x-ranges and partial
//     versions ("1.x", "1", "1.2"), git sources without a commit SHA
//     (branches, tags, "#semver:" ranges, no committish), any other http(s)
//     tarball URL (its content can change and package.json has nowhere to
//     record an integrity hash), "npm:" aliases whose inner spec is unpinned;
//   - unresolvable in a Pod: "file:", "link:", "portal:" and plain local
//     paths or tarball files, git+file:// repositories, "workspace:".
//
// Invalid JSON and values of the wrong type are errors that name the line,
// the column and the field.
func CheckNPM(packageJSON []byte) ([]Finding, error) {
	data := bytes.TrimPrefix(packageJSON, []byte("\xef\xbb\xbf"))

	// A full decode first gives precise syntax errors; the token walk below
	// then only has to deal with well-formed input.
	var probe any
	if err := json.Unmarshal(data, &probe); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off := int(se.Offset) - 1
			if strings.Contains(se.Error(), "unexpected end") {
				off = len(data)
			}
			return nil, fmt.Errorf("package.json: %s: invalid JSON: %s", position(data, off), se.Error())
		}
		return nil, fmt.Errorf("package.json: invalid JSON: %w", err)
	}
	if _, ok := probe.(map[string]any); !ok {
		return nil, fmt.Errorf("package.json: %s: top-level value must be an object, got %s",
			position(data, skipSpace(data, 0)), jsonKind(probe))
	}

	w := &npmWalker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	w.dec.UseNumber()
	sections, optionalPeers, err := w.walk()
	if err != nil {
		return nil, err
	}

	// The spec npm uses for a name: optionalDependencies override
	// dependencies, which override peerDependencies.
	effective := map[string]string{}
	for _, sec := range []string{"peerDependencies", "dependencies", "optionalDependencies"} {
		for _, e := range sections[sec] {
			if sec == "peerDependencies" && optionalPeers[e.name] {
				continue
			}
			effective[e.name] = e.spec
		}
	}
	// Report in reading order: dependencies, then optionalDependencies, then
	// peerDependencies, each in file order, every name once.
	var ordered []string
	listed := map[string]bool{}
	for _, sec := range []string{"dependencies", "optionalDependencies", "peerDependencies"} {
		for _, e := range sections[sec] {
			if _, installed := effective[e.name]; installed && !listed[e.name] {
				listed[e.name] = true
				ordered = append(ordered, e.name)
			}
		}
	}

	var findings []Finding
	for _, n := range ordered {
		spec := effective[n]
		if reason := classifyNPM(spec); reason != "" {
			findings = append(findings, Finding{Name: n, Spec: spec, Reason: reason})
		}
	}
	return findings, nil
}

type npmEntry struct{ name, spec string }

type npmWalker struct {
	data []byte
	dec  *json.Decoder
}

// walk reads the top-level object and returns the checked sections and the
// set of peer dependencies marked optional.
func (w *npmWalker) walk() (map[string][]npmEntry, map[string]bool, error) {
	if _, err := w.dec.Token(); err != nil { // '{', validated above
		return nil, nil, fmt.Errorf("package.json: %w", err)
	}
	sections := map[string][]npmEntry{}
	optionalPeers := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("package.json: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "dependencies", "optionalDependencies", "peerDependencies":
			entries, err := w.stringMap(key)
			if err != nil {
				return nil, nil, err
			}
			sections[key] = entries // a repeated key replaces, as in JSON.parse
		case "peerDependenciesMeta":
			var meta any
			if err := w.dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("package.json: %w", err)
			}
			clear(optionalPeers)
			if m, ok := meta.(map[string]any); ok {
				for name, v := range m {
					if o, ok := v.(map[string]any); ok && o["optional"] == true {
						optionalPeers[name] = true
					}
				}
			}
		default:
			var skip json.RawMessage
			if err := w.dec.Decode(&skip); err != nil {
				return nil, nil, fmt.Errorf("package.json: %w", err)
			}
		}
	}
	return sections, optionalPeers, nil
}

// stringMap reads the value of section, which must be an object of strings
// (or null, treated as absent).
func (w *npmWalker) stringMap(section string) ([]npmEntry, error) {
	at := skipSpace(w.data, int(w.dec.InputOffset()))
	tok, err := w.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("package.json: %s: %q must be an object of name to version, got %s",
			position(w.data, at), section, tokenKind(tok))
	}
	var entries []npmEntry
	index := map[string]int{}
	for w.dec.More() {
		keyAt := skipSpace(w.data, int(w.dec.InputOffset()))
		ktok, err := w.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("package.json: %w", err)
		}
		name, _ := ktok.(string)
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("package.json: %s: %q has an empty package name", position(w.data, keyAt), section)
		}
		valAt := skipSpace(w.data, int(w.dec.InputOffset()))
		vtok, err := w.dec.Token()
		if err != nil {
			return nil, fmt.Errorf("package.json: %w", err)
		}
		spec, ok := vtok.(string)
		if !ok {
			return nil, fmt.Errorf("package.json: %s: %q.%q must be a version string, got %s",
				position(w.data, valAt), section, name, tokenKind(vtok))
		}
		if i, dup := index[name]; dup {
			entries[i].spec = spec
			continue
		}
		index[name] = len(entries)
		entries = append(entries, npmEntry{name: name, spec: spec})
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return nil, fmt.Errorf("package.json: %w", err)
	}
	return entries, nil
}

// skipSpace returns the offset of the first byte at or after off that is not
// JSON whitespace or a separator between tokens.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// position renders a byte offset as "line L, column C" (both 1-based,
// columns counted in bytes).
func position(data []byte, off int) string {
	off = max(0, min(off, len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off + 1
	if i := bytes.LastIndexByte(data[:off], '\n'); i >= 0 {
		col = off - i
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	case nil:
		return "null"
	default:
		return jsonKind(v)
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

var (
	// npm accepts "=", "v" and whitespace before an exact version.
	npmVersionPrefix = "=v \t"
	// x-ranges and partial versions: 1, 1.2, 1.x, 1.2.*, x.x
	npmXRange = regexp.MustCompile(`^(?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2}$`)
	// characters npm allows in a dist-tag (those encodeURIComponent keeps)
	npmTag = regexp.MustCompile(`^[A-Za-z0-9\-_.!~*'()]+$`)
	// user/repo shorthand for GitHub, with an optional #committish
	npmGitHubShorthand = regexp.MustCompile(`^[^@%/\s.\-][^:@%/\s]*/[^@\s/%:]+(?:#.*)?$`)
	// scp-like git remote: git@host:user/repo
	scpLikeGit = regexp.MustCompile(`^[\w.\-]+@[\w.\-]+:[^/]`)
	// local file specs as npm recognises them
	npmFileSpec = regexp.MustCompile(`^(?:\.|~/|[/\\]|[a-zA-Z]:)`)
	npmTarFile  = regexp.MustCompile(`(?i)\.(?:tgz|tar\.gz|tar)$`)
)

// classifyNPM returns why spec is not pinned, or "" if it is.
func classifyNPM(raw string) string {
	s := strings.TrimSpace(raw)
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return ReasonEmpty
	case strings.HasPrefix(lower, "npm:"):
		return classifyNPMAlias(s[len("npm:"):])
	case strings.HasPrefix(lower, "workspace:"):
		return ReasonWorkspace
	case strings.HasPrefix(lower, "file:"), strings.HasPrefix(lower, "link:"),
		strings.HasPrefix(lower, "portal:"), strings.HasPrefix(lower, "git+file:"):
		return ReasonLocalPath
	case strings.HasPrefix(lower, "git+"), strings.HasPrefix(lower, "git://"),
		strings.HasPrefix(lower, "github:"), strings.HasPrefix(lower, "gitlab:"),
		strings.HasPrefix(lower, "bitbucket:"), strings.HasPrefix(lower, "gist:"),
		scpLikeGit.MatchString(s), npmGitHubShorthand.MatchString(s):
		return classifyGitCommittish(s)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		if isHostedGitURL(s) {
			return classifyGitCommittish(s)
		}
		return classifyTarballURL(s)
	case npmFileSpec.MatchString(s), npmTarFile.MatchString(s) && !strings.Contains(s, "://"):
		return ReasonLocalPath
	case strings.Contains(s, "://"):
		return ReasonUnsupportedURL
	}
	return classifyNPMRange(s)
}

// classifyNPMRange handles the registry forms: versions, ranges and tags.
func classifyNPMRange(s string) string {
	if isExactNPMVersion(s) {
		return ""
	}
	switch {
	case strings.Contains(s, "||"):
		return ReasonUnion
	case strings.Contains(s, " - "):
		return ReasonHyphen
	case strings.HasPrefix(s, "^"):
		return ReasonCaret
	case strings.HasPrefix(s, "~"):
		return ReasonTilde
	case strings.HasPrefix(s, ">"), strings.HasPrefix(s, "<"):
		return ReasonComparison
	}
	bare := strings.TrimLeft(s, npmVersionPrefix)
	switch {
	case bare == "*" || bare == "x" || bare == "X":
		return ReasonAny
	case npmXRange.MatchString(bare) && strings.ContainsAny(bare, "xX*"):
		return ReasonXRange
	case npmXRange.MatchString(bare) && strings.Count(bare, ".") < 2:
		return ReasonPartial
	case bare != "" && bare[0] >= '0' && bare[0] <= '9':
		// looks like a version but is not a valid one (e.g. "01.2.3",
		// "1.2.3.4"); npm treats it as a tag name or rejects it
		return ReasonInvalidVersion
	case npmTag.MatchString(s):
		return ReasonDistTag
	}
	return ReasonUnrecognized
}

func isExactNPMVersion(s string) bool {
	bare := strings.TrimLeft(s, npmVersionPrefix)
	if bare == "" || strings.ContainsAny(bare, " \t") {
		return false
	}
	_, err := semver.StrictNewVersion(bare)
	return err == nil
}

// classifyNPMAlias checks the inner spec of "npm:name@spec". Only registry
// specs are valid inside an alias.
func classifyNPMAlias(inner string) string {
	inner = strings.TrimSpace(inner)
	// the package name may be scoped: skip a leading '@'
	at := -1
	if len(inner) > 1 {
		if i := strings.IndexByte(inner[1:], '@'); i >= 0 {
			at = i + 1
		}
	}
	if at < 0 {
		if inner == "" {
			return ReasonUnrecognized
		}
		return ReasonAliasNoVersion
	}
	spec := strings.TrimSpace(inner[at+1:])
	if spec == "" {
		return ReasonAliasNoVersion
	}
	if strings.Contains(spec, ":") || strings.Contains(spec, "/") {
		return ReasonAliasTarget
	}
	return classifyNPMRange(spec)
}

// classifyGitCommittish inspects the part after '#' of a git spec. npm allows
// several '::'-separated parts: a committish, "semver:<range>" and
// "path:<dir>".
func classifyGitCommittish(s string) string {
	_, frag, ok := strings.Cut(s, "#")
	if !ok || frag == "" {
		return ReasonGitNoRef
	}
	committish := ""
	for _, part := range strings.Split(frag, "::") {
		switch {
		case strings.HasPrefix(part, "semver:"):
			return ReasonGitSemver
		case strings.HasPrefix(part, "path:"):
			// selects a directory, not a revision
		default:
			committish = part
		}
	}
	switch {
	case committish == "":
		return ReasonGitNoRef
	case isCommitSHA(committish):
		return ""
	default:
		return ReasonGitRef
	}
}

var hostedGitHosts = map[string]bool{
	"github.com": true, "www.github.com": true,
	"gitlab.com": true, "www.gitlab.com": true,
	"bitbucket.org": true, "www.bitbucket.org": true,
	"gist.github.com": true,
}

// isHostedGitURL reports whether an http(s) URL names a repository on a known
// git host (https://github.com/user/repo[.git][#ref]) rather than a file.
func isHostedGitURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || !hostedGitHosts[strings.ToLower(u.Hostname())] {
		return false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if strings.EqualFold(u.Hostname(), "gist.github.com") {
		return len(parts) >= 1 && len(parts) <= 2 && parts[0] != ""
	}
	return len(parts) == 2 && parts[0] != "" && parts[1] != ""
}

// classifyTarballURL accepts a remote tarball only if one of its path
// elements, with an archive extension removed, is a full commit SHA.
func classifyTarballURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ReasonTarball
	}
	for _, elem := range strings.Split(u.Path, "/") {
		for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".zip"} {
			if strings.HasSuffix(strings.ToLower(elem), ext) {
				elem = elem[:len(elem)-len(ext)]
				break
			}
		}
		if isCommitSHA(path.Base(elem)) {
			return ""
		}
	}
	return ReasonTarball
}
