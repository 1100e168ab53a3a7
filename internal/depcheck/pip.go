package depcheck

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// CheckPip reports the requirements of a requirements.txt that pip may
// resolve to a different distribution at a later install.
//
// The file is read the way pip reads it: a line ending in a backslash
// continues on the next line (errors name the first line of the group),
// "#" starts a comment at the beginning of a line or after whitespace, blank
// lines are skipped. Accepted forms:
//
//   - requirements in PEP 508 form: name, [extras], version specifiers
//     (optionally in parentheses), "@ URL", "; environment marker";
//     markers are not evaluated, so a requirement is checked on every
//     platform;
//   - bare URLs and paths, VCS URLs (git+, hg+, svn+, bzr+), with an
//     optional "; marker" after whitespace;
//   - per-requirement options after the requirement: --hash,
//     --config-settings (-C), --global-option;
//   - option lines: -i/--index-url, --extra-index-url, --no-index,
//     -f/--find-links, --trusted-host, --pre, --prefer-binary,
//     --only-binary, --no-binary, --require-hashes and --use-feature are
//     accepted silently; -r/--requirement and -c/--constraint name another
//     file that cannot be checked here and give a finding; -e/--editable is
//     checked like a URL requirement.
//
// Classification:
//
//   - pinned: "name==1.2.3" (no wildcard) or "name===1.2.3", with any extras
//     and markers; a VCS URL whose "@ref" is a full 40- or 64-hex commit SHA;
//     an http(s) URL that carries a hash, either as a "#sha256=..." style
//     fragment or through --hash on the same line, since pip refuses any
//     other content;
//   - unpinned: a bare name, ranges and exclusions (>=, >, <=, <, ~=, !=),
//     "==1.*" wildcards, VCS URLs without a full commit SHA, http(s) URLs
//     without a hash;
//   - unresolvable in a Pod: local paths, file:// URLs, git+file:// URLs;
//   - not checkable: -r and -c includes.
//
// A line that pip would reject (an invalid name, version or option) is an
// error that names its line number.
func CheckPip(requirementsTxt []byte) ([]Finding, error) {
	var findings []Finding
	for _, ln := range logicalLines(string(requirementsTxt)) {
		text := stripComment(ln.text)
		if text == "" {
			continue
		}
		var (
			found []Finding
			err   error
		)
		if strings.HasPrefix(text, "-") {
			found, err = checkPipOptionLine(text)
		} else {
			found, err = checkPipRequirementLine(text)
		}
		if err != nil {
			return nil, fmt.Errorf("requirements.txt line %d: %w", ln.number, err)
		}
		findings = append(findings, found...)
	}
	return findings, nil
}

type logicalLine struct {
	number int // first physical line, 1-based
	text   string
}

// logicalLines joins backslash continuations. A comment line ends a
// continuation and is never continued itself, as in pip.
func logicalLines(content string) []logicalLine {
	physical := strings.Split(content, "\n")
	var (
		out     []logicalLine
		pending strings.Builder
		first   int
		joining bool
	)
	for i, line := range physical {
		line = strings.TrimSuffix(line, "\r")
		isComment := strings.HasPrefix(strings.TrimLeft(line, " \t"), "#")
		if !strings.HasSuffix(line, `\`) || isComment {
			if isComment {
				line = " " + line
			}
			if joining {
				pending.WriteString(line)
				out = append(out, logicalLine{number: first, text: pending.String()})
				pending.Reset()
				joining = false
			} else {
				out = append(out, logicalLine{number: i + 1, text: line})
			}
			continue
		}
		if !joining {
			first = i + 1
			joining = true
		}
		pending.WriteString(strings.TrimRight(line, `\`))
	}
	if joining {
		out = append(out, logicalLine{number: first, text: pending.String()})
	}
	return out
}

var pipComment = regexp.MustCompile(`(?:^|[ \t]+)#.*$`)

func stripComment(line string) string {
	return strings.TrimSpace(pipComment.ReplaceAllString(line, ""))
}

// options that take a value, in their long and short spelling
var pipValueOptions = map[string]string{
	"-i": "--index-url", "--index-url": "--index-url",
	"--extra-index-url": "--extra-index-url",
	"-f":                "--find-links", "--find-links": "--find-links",
	"-r": "--requirement", "--requirement": "--requirement",
	"-c": "--constraint", "--constraint": "--constraint",
	"-e": "--editable", "--editable": "--editable",
	"--trusted-host": "--trusted-host",
	"--no-binary":    "--no-binary",
	"--only-binary":  "--only-binary",
	"--use-feature":  "--use-feature",
}

// options without a value
var pipFlagOptions = map[string]bool{
	"--no-index": true, "--pre": true, "--prefer-binary": true, "--require-hashes": true,
}

func checkPipOptionLine(text string) ([]Finding, error) {
	tokens := strings.Fields(text)
	var findings []Finding
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		if !strings.HasPrefix(tok, "-") {
			return nil, fmt.Errorf("unexpected argument %q in option line %q", tok, text)
		}
		name, value, hasValue := tok, "", false
		switch {
		case strings.HasPrefix(tok, "--"):
			name, value, hasValue = strings.Cut(tok, "=")
		case len(tok) > 2: // short option with the value attached: -rfile.txt
			name, value, hasValue = tok[:2], tok[2:], true
		}
		if pipFlagOptions[name] {
			if hasValue {
				return nil, fmt.Errorf("option %s takes no value", name)
			}
			continue
		}
		long, known := pipValueOptions[name]
		if !known {
			return nil, fmt.Errorf("unsupported option %q", name)
		}
		if !hasValue {
			if i+1 >= len(tokens) {
				return nil, fmt.Errorf("option %s needs a value", name)
			}
			i++
			value = tokens[i]
		}
		if value == "" {
			return nil, fmt.Errorf("option %s needs a value", name)
		}
		switch long {
		case "--requirement":
			findings = append(findings, Finding{Name: value, Spec: name + " " + value, Reason: ReasonInclude})
		case "--constraint":
			findings = append(findings, Finding{Name: value, Spec: name + " " + value, Reason: ReasonConstraints})
		case "--editable":
			if f, ok := classifyPipURL(value, false); ok {
				findings = append(findings, f)
			}
		}
	}
	return findings, nil
}

// per-requirement options that may follow a requirement
var pipRequirementOptions = map[string]bool{
	"--hash": true, "--config-settings": true, "-C": true, "--global-option": true,
}

var pipHashValue = regexp.MustCompile(`^(?:sha256|sha384|sha512):[0-9a-fA-F]+$`)

func checkPipRequirementLine(text string) ([]Finding, error) {
	// As in pip: the requirement runs up to the first token that starts
	// with '-'; the rest are per-requirement options.
	tokens := strings.Fields(text)
	n := 0
	for n < len(tokens) && !strings.HasPrefix(tokens[n], "-") {
		n++
	}
	req := strings.Join(tokens[:n], " ")
	hasHash := false
	for i := n; i < len(tokens); i++ {
		name, value, hasValue := strings.Cut(tokens[i], "=")
		if !pipRequirementOptions[name] {
			return nil, fmt.Errorf("unsupported option %q after requirement %q", name, req)
		}
		if !hasValue {
			if i+1 >= len(tokens) || strings.HasPrefix(tokens[i+1], "-") {
				return nil, fmt.Errorf("option %s needs a value", name)
			}
			i++
			value = tokens[i]
		}
		if name == "--hash" {
			if !pipHashValue.MatchString(value) {
				return nil, fmt.Errorf("invalid --hash value %q (want sha256|sha384|sha512:<hex>)", value)
			}
			hasHash = true
		}
	}

	if looksLikePipURL(req) {
		// For URLs pip only splits a marker off at "; " (a ';' can
		// be part of a URL).
		loc, marker, hasMarker := strings.Cut(req, "; ")
		if hasMarker && strings.TrimSpace(marker) == "" {
			return nil, fmt.Errorf("empty environment marker in %q", req)
		}
		f, ok := classifyPipURL(strings.TrimSpace(loc), hasHash)
		if !ok {
			return nil, nil
		}
		return []Finding{f}, nil
	}

	f, pinned, err := parsePEP508(req, hasHash)
	if err != nil || pinned {
		return nil, err
	}
	return []Finding{f}, nil
}

var (
	pipName     = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`)
	pipExtras   = regexp.MustCompile(`^\[\s*(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\s*,\s*[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)*)?\s*\]`)
	pipOperator = regexp.MustCompile(`^(===|==|~=|!=|<=|>=|<|>)\s*`)
	// PEP 440 public and local versions, in the normalising (lenient)
	// spelling pip accepts
	pep440 = regexp.MustCompile(`(?i)^v?(?:\d+!)?\d+(?:\.\d+)*` +
		`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\d*)?` +
		`(?:-\d+|[-_.]?(?:post|rev|r)[-_.]?\d*)?` +
		`(?:[-_.]?dev[-_.]?\d*)?` +
		`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$`)
	pep440Prefix = regexp.MustCompile(`(?i)^v?(?:\d+!)?\d+(?:\.\d+)*$`)
)

// parsePEP508 parses "name [extras] (specifiers | @ url) [; marker]".
func parsePEP508(req string, hasHash bool) (Finding, bool, error) {
	name := pipName.FindString(req)
	if name == "" {
		return Finding{}, false, fmt.Errorf("invalid requirement %q: expected a package name", req)
	}
	rest := strings.TrimLeft(req[len(name):], " \t")
	if strings.HasPrefix(rest, "[") {
		extras := pipExtras.FindString(rest)
		if extras == "" {
			return Finding{}, false, fmt.Errorf("invalid requirement %q: malformed extras", req)
		}
		rest = strings.TrimLeft(rest[len(extras):], " \t")
	}

	if strings.HasPrefix(rest, "@") {
		loc := strings.TrimSpace(rest[1:])
		// PEP 508: a marker after a URL must be preceded by whitespace
		if i := strings.Index(loc, " ;"); i >= 0 {
			if strings.TrimSpace(loc[i+2:]) == "" {
				return Finding{}, false, fmt.Errorf("empty environment marker in %q", req)
			}
			loc = strings.TrimSpace(loc[:i])
		}
		if loc == "" || strings.ContainsAny(loc, " \t") {
			return Finding{}, false, fmt.Errorf("invalid requirement %q: malformed URL after @", req)
		}
		f, unpinned := classifyPipURL(loc, hasHash)
		f.Name = name
		return f, !unpinned, nil
	}

	spec := rest
	if i := strings.IndexByte(rest, ';'); i >= 0 {
		if strings.TrimSpace(rest[i+1:]) == "" {
			return Finding{}, false, fmt.Errorf("empty environment marker in %q", req)
		}
		spec = rest[:i]
	}
	spec = strings.TrimSpace(spec)
	inner := spec
	if strings.HasPrefix(inner, "(") {
		if !strings.HasSuffix(inner, ")") {
			return Finding{}, false, fmt.Errorf("invalid requirement %q: unbalanced parenthesis", req)
		}
		inner = strings.TrimSpace(inner[1 : len(inner)-1])
	}
	if inner == "" {
		return Finding{Name: name, Spec: "", Reason: ReasonNoVersion}, false, nil
	}
	if !pipOperator.MatchString(inner) {
		return Finding{}, false, fmt.Errorf("invalid requirement %q: unexpected %q after the name", req, inner)
	}

	exact, wildcard := false, false
	for _, clause := range strings.Split(inner, ",") {
		clause = strings.TrimSpace(clause)
		op := pipOperator.FindStringSubmatch(clause)
		if op == nil {
			return Finding{}, false, fmt.Errorf("invalid version specifier %q in %q", clause, req)
		}
		version := strings.TrimSpace(clause[len(op[0]):])
		if version == "" || strings.ContainsAny(version, " \t") {
			return Finding{}, false, fmt.Errorf("invalid version specifier %q in %q", clause, req)
		}
		switch op[1] {
		case "===":
			exact = true // arbitrary string equality
		case "==", "!=":
			if prefix, ok := strings.CutSuffix(version, ".*"); ok {
				if !pep440Prefix.MatchString(prefix) {
					return Finding{}, false, fmt.Errorf("invalid version %q in %q", version, req)
				}
				if op[1] == "==" {
					wildcard = true
				}
				continue
			}
			if !pep440.MatchString(version) {
				return Finding{}, false, fmt.Errorf("invalid version %q in %q", version, req)
			}
			if op[1] == "==" {
				exact = true
			}
		default:
			if !pep440.MatchString(version) {
				return Finding{}, false, fmt.Errorf("invalid version %q in %q", version, req)
			}
		}
	}
	switch {
	case exact:
		return Finding{}, true, nil
	case wildcard:
		return Finding{Name: name, Spec: spec, Reason: ReasonWildcardEqual}, false, nil
	default:
		return Finding{Name: name, Spec: spec, Reason: ReasonNotEqual}, false, nil
	}
}

var vcsSchemes = []string{"git+", "hg+", "svn+", "bzr+"}

// looksLikePipURL reports whether a requirement is a URL or a path rather
// than a PEP 508 name.
func looksLikePipURL(req string) bool {
	lower := strings.ToLower(req)
	if strings.Contains(lower, "://") {
		// "name @ https://..." is PEP 508; a bare URL starts with the scheme
		return !strings.Contains(strings.SplitN(lower, "://", 2)[0], "@")
	}
	for _, s := range vcsSchemes {
		if strings.HasPrefix(lower, s) {
			return true
		}
	}
	if strings.HasPrefix(req, ".") || strings.HasPrefix(req, "/") || strings.HasPrefix(req, "~") {
		return true
	}
	first := strings.Fields(req)[0]
	if strings.ContainsAny(first, `/\`) {
		return true
	}
	for _, ext := range []string{".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"} {
		if strings.HasSuffix(strings.ToLower(first), ext) {
			return true
		}
	}
	return false
}

var urlHashFragment = regexp.MustCompile(`(?i)(?:^|&)(?:md5|sha1|sha224|sha256|sha384|sha512)=[0-9a-f]+(?:&|$)`)

// classifyPipURL classifies a URL or path requirement. It returns the
// finding and true if it is not pinned.
func classifyPipURL(loc string, hasHash bool) (Finding, bool) {
	name := loc
	lower := strings.ToLower(loc)
	withoutFragment, fragment, _ := strings.Cut(loc, "#")
	if q, err := url.ParseQuery(fragment); err == nil && q.Get("egg") != "" {
		name = q.Get("egg")
	}
	finding := func(reason string) (Finding, bool) {
		return Finding{Name: name, Spec: loc, Reason: reason}, true
	}

	for _, s := range vcsSchemes {
		if !strings.HasPrefix(lower, s) {
			continue
		}
		if strings.HasPrefix(lower[len(s):], "file:") {
			return finding(ReasonLocalPath)
		}
		// the revision follows the last '@' of the path (not of user@host)
		rest := withoutFragment
		if _, after, ok := strings.Cut(rest, "://"); ok {
			rest = after
		}
		pathPart := ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			pathPart = rest[i:]
		}
		at := strings.LastIndexByte(pathPart, '@')
		if at < 0 {
			return finding(ReasonGitNoRef)
		}
		if isCommitSHA(pathPart[at+1:]) {
			return Finding{}, false
		}
		return finding(ReasonGitRef)
	}

	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		if hasHash || urlHashFragment.MatchString(fragment) {
			return Finding{}, false
		}
		return finding(ReasonURLNoHash)
	case strings.HasPrefix(lower, "file:"):
		return finding(ReasonLocalPath)
	case strings.Contains(lower, "://"):
		return finding(ReasonUnsupportedURL)
	}
	return finding(ReasonLocalPath)
}
