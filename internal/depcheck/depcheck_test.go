package depcheck

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const (
	sha1Hex   = "0123456789abcdef0123456789abcdef01234567"
	sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// npmDeps builds a package.json with one dependency.
func npmDeps(name, spec string) string {
	b, _ := json.Marshal(map[string]any{
		"name":         "fn",
		"version":      "1.0.0",
		"dependencies": map[string]string{name: spec},
	})
	return string(b)
}

func TestCheck(t *testing.T) {
	type tc struct {
		name    string
		runtime string
		deps    string
		want    []Finding
	}
	one := func(name, spec, reason string) []Finding {
		return []Finding{{Name: name, Spec: spec, Reason: reason}}
	}
	npm := func(spec, reason string) tc {
		var want []Finding
		if reason != "" {
			want = one("dep", spec, reason)
		}
		return tc{name: fmt.Sprintf("npm %q", spec), runtime: "nodejs22", deps: npmDeps("dep", spec), want: want}
	}
	pip := func(line, name, spec, reason string) tc {
		var want []Finding
		if reason != "" {
			want = one(name, spec, reason)
		}
		return tc{name: fmt.Sprintf("pip %q", line), runtime: "python312", deps: line + "\n", want: want}
	}

	cases := []tc{
		// npm: pinned
		npm("1.2.3", ""),
		npm("=1.2.3", ""),
		npm("v1.2.3", ""),
		npm(" 1.2.3 ", ""),
		npm("1.2.3-beta.1", ""),
		npm("1.2.3+build.7", ""),
		npm("git+https://github.com/user/repo.git#"+sha1Hex, ""),
		npm("github:user/repo#"+sha1Hex, ""),
		npm("user/repo#"+sha256Hex, ""),
		npm("https://github.com/user/repo#"+sha1Hex, ""),
		npm("git+ssh://git@github.com/user/repo.git#"+sha1Hex+"::path:packages/a", ""),
		npm("https://codeload.github.com/user/repo/tar.gz/"+sha1Hex, ""),
		npm("https://github.com/user/repo/archive/"+sha1Hex+".tar.gz", ""),
		npm("npm:other@1.0.0", ""),
		npm("npm:@scope/other@=2.0.0", ""),

		// npm: unpinned
		npm("", ReasonEmpty),
		npm("*", ReasonAny),
		npm("x", ReasonAny),
		npm("latest", ReasonDistTag),
		npm("next", ReasonDistTag),
		npm("beta", ReasonDistTag),
		npm("^4.17.0", ReasonCaret),
		npm("~1.2.3", ReasonTilde),
		npm("~>1.2", ReasonTilde),
		npm(">1.0.0", ReasonComparison),
		npm(">=1.0.0 <2.0.0", ReasonComparison),
		npm("<2", ReasonComparison),
		npm("1.2.3 || 2.0.0", ReasonUnion),
		npm("1.0.0 - 2.0.0", ReasonHyphen),
		npm("1.x", ReasonXRange),
		npm("1.2.*", ReasonXRange),
		npm("1", ReasonPartial),
		npm("1.2", ReasonPartial),
		npm("01.2.3", ReasonInvalidVersion),
		npm("1.2.3.4", ReasonInvalidVersion),
		npm("github:user/repo", ReasonGitNoRef),
		npm("user/repo", ReasonGitNoRef),
		npm("git+https://github.com/user/repo.git#main", ReasonGitRef),
		npm("git://github.com/user/repo.git#v1.0.0", ReasonGitRef),
		npm("github:user/repo#abc1234", ReasonGitRef),
		npm("git+https://github.com/user/repo.git#semver:^1.0.0", ReasonGitSemver),
		npm("git@github.com:user/repo.git", ReasonGitNoRef),
		npm("https://example.com/pkg-1.0.0.tgz", ReasonTarball),
		npm("https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", ReasonTarball),
		npm("npm:other@^1", ReasonCaret),
		npm("npm:other", ReasonAliasNoVersion),
		npm("npm:other@latest", ReasonDistTag),
		npm("npm:other@github:user/repo", ReasonAliasTarget),
		npm("file:../lib", ReasonLocalPath),
		npm("link:../lib", ReasonLocalPath),
		npm("./vendor/lib", ReasonLocalPath),
		npm("/abs/lib.tgz", ReasonLocalPath),
		npm("lib-1.0.0.tgz", ReasonLocalPath),
		npm("git+file:///srv/repo.git#"+sha1Hex, ReasonLocalPath),
		npm("workspace:*", ReasonWorkspace),
		npm("ftp://example.com/x.tgz", ReasonUnsupportedURL),
		npm("^not a range%", ReasonCaret),
		npm("%%%", ReasonUnrecognized),

		// npm: file-level behaviour
		{
			name:    "npm sections, precedence, devDependencies ignored",
			runtime: "nodejs24",
			deps: `{
  "name": "fn",
  "dependencies": {"lodash": "^4.17.0", "axios": "1.7.2", "shared": "^1.0.0"},
  "devDependencies": {"jest": "*"},
  "optionalDependencies": {"fsevents": "~2.3.0", "shared": "1.0.0"},
  "peerDependencies": {"react": ">=18", "vue": "^3", "axios": "*"},
  "peerDependenciesMeta": {"vue": {"optional": true}}
}`,
			want: []Finding{
				{Name: "lodash", Spec: "^4.17.0", Reason: ReasonCaret},
				{Name: "fsevents", Spec: "~2.3.0", Reason: ReasonTilde},
				{Name: "react", Spec: ">=18", Reason: ReasonComparison},
			},
		},
		{
			name:    "npm duplicate key: last value wins at first position",
			runtime: "nodejs20",
			deps:    `{"dependencies": {"a": "1.0.0", "b": "^1", "a": "latest"}}`,
			want: []Finding{
				{Name: "a", Spec: "latest", Reason: ReasonDistTag},
				{Name: "b", Spec: "^1", Reason: ReasonCaret},
			},
		},
		{name: "npm null dependencies", runtime: "nodejs22", deps: `{"dependencies": null}`},
		{name: "npm no dependencies", runtime: "nodejs22", deps: `{"name": "fn", "scripts": {"start": "node ."}}`},
		{name: "npm byte order mark", runtime: "nodejs22", deps: "\ufeff" + npmDeps("a", "1.0.0")},
		{name: "empty dependencies (nodejs)", runtime: "nodejs22", deps: "  \n"},
		{name: "empty dependencies (python)", runtime: "python312", deps: ""},

		// pip: pinned
		pip("requests==2.32.3", "", "", ""),
		pip("requests === 2.32.3", "", "", ""),
		pip("Requests[socks,security]==2.32.3", "", "", ""),
		pip(`requests==2.32.3; python_version >= "3.8"`, "", "", ""),
		pip("requests (==2.32.3)", "", "", ""),
		pip("numpy==2.0.0rc1", "", "", ""),
		pip("torch==2.3.1+cpu", "", "", ""),
		pip("flask==3.0.3 --hash=sha256:"+sha256Hex, "", "", ""),
		pip("pkg @ git+https://github.com/user/pkg.git@"+sha1Hex, "", "", ""),
		pip("git+https://github.com/user/pkg.git@"+sha1Hex+"#egg=pkg", "", "", ""),
		pip("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256="+sha256Hex, "", "", ""),
		pip("https://example.com/pkg-1.0.tar.gz --hash=sha256:"+sha256Hex, "", "", ""),
		pip("-i https://pypi.example.com/simple", "", "", ""),
		pip("--extra-index-url=https://pypi.example.com/simple --trusted-host pypi.example.com", "", "", ""),
		pip("--no-index", "", "", ""),

		// pip: unpinned
		pip("requests", "requests", "", ReasonNoVersion),
		pip("requests[socks]", "requests", "", ReasonNoVersion),
		pip(`requests; python_version < "3.8"`, "requests", "", ReasonNoVersion),
		pip("requests>=2", "requests", ">=2", ReasonNotEqual),
		pip("requests ~= 2.32", "requests", "~= 2.32", ReasonNotEqual),
		pip("requests!=2.0.0", "requests", "!=2.0.0", ReasonNotEqual),
		pip("requests<3,>2", "requests", "<3,>2", ReasonNotEqual),
		pip("requests==2.*", "requests", "==2.*", ReasonWildcardEqual),
		pip("requests (>=2)", "requests", "(>=2)", ReasonNotEqual),
		pip("git+https://github.com/user/pkg.git@main#egg=pkg", "pkg",
			"git+https://github.com/user/pkg.git@main#egg=pkg", ReasonGitRef),
		pip("git+https://github.com/user/pkg.git", "git+https://github.com/user/pkg.git",
			"git+https://github.com/user/pkg.git", ReasonGitNoRef),
		pip("git+ssh://git@github.com/user/pkg.git@v1.0#egg=pkg", "pkg",
			"git+ssh://git@github.com/user/pkg.git@v1.0#egg=pkg", ReasonGitRef),
		pip("pkg @ git+https://github.com/user/pkg.git@abc1234", "pkg",
			"git+https://github.com/user/pkg.git@abc1234", ReasonGitRef),
		pip("https://example.com/pkg-1.0.tar.gz", "https://example.com/pkg-1.0.tar.gz",
			"https://example.com/pkg-1.0.tar.gz", ReasonURLNoHash),
		pip("./local/pkg", "./local/pkg", "./local/pkg", ReasonLocalPath),
		pip("-e ./local/pkg", "./local/pkg", "./local/pkg", ReasonLocalPath),
		pip("-e git+https://github.com/user/pkg.git#egg=pkg", "pkg",
			"git+https://github.com/user/pkg.git#egg=pkg", ReasonGitNoRef),
		pip("file:///srv/pkg-1.0.whl", "file:///srv/pkg-1.0.whl", "file:///srv/pkg-1.0.whl", ReasonLocalPath),
		pip("-r base.txt", "base.txt", "-r base.txt", ReasonInclude),
		pip("--requirement=base.txt", "base.txt", "--requirement base.txt", ReasonInclude),
		pip("-c constraints.txt", "constraints.txt", "-c constraints.txt", ReasonConstraints),

		// pip: file-level behaviour
		{
			name:    "pip comments, blank lines, continuations, CRLF",
			runtime: "python312",
			deps: "# header comment\r\n" +
				"\r\n" +
				"requests==2.32.3 \\\r\n" +
				"    --hash=sha256:" + sha256Hex + " \\\r\n" +
				"    --hash=sha256:" + sha256Hex + "\r\n" +
				"flask>=3   # a trailing comment\r\n" +
				"  # indented comment ending in a backslash \\\r\n" +
				"numpy \\\n" +
				"  ==2.0.0\n" +
				"pandas\\\n",
			want: []Finding{
				{Name: "flask", Spec: ">=3", Reason: ReasonNotEqual},
				{Name: "pandas", Reason: ReasonNoVersion},
			},
		},
	}

	if len(cases) < 30 {
		t.Fatalf("table has %d cases, want at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(c.runtime, c.deps)
			if err != nil {
				t.Fatalf("Check(%q, %q): unexpected error: %v", c.runtime, c.deps, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Check(%q, %q)\n got  %#v\n want %#v", c.runtime, c.deps, got, c.want)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	cases := []struct {
		name    string
		runtime string
		deps    string
		want    string // exact error message
	}{
		{"unknown runtime", "go1.22", "x", `depcheck: unsupported runtime "go1.22" (want nodejs* or python*)`},
		{"npm syntax error", "nodejs22", "{\n  \"dependencies\": {\n    \"a\": \"1.0.0\",\n  }\n}",
			`package.json: line 4, column 3: invalid JSON: invalid character '}' looking for beginning of object key string`},
		{"npm truncated", "nodejs22", "{\"dependencies\": {\"a\": \"1.0.0\"",
			`package.json: line 1, column 31: invalid JSON: unexpected end of JSON input`},
		{"npm trailing data", "nodejs22", "{} x",
			`package.json: line 1, column 4: invalid JSON: invalid character 'x' after top-level value`},
		{"npm top-level array", "nodejs22", "  [\"a\"]",
			`package.json: line 1, column 3: top-level value must be an object, got array`},
		{"npm dependencies is a string", "nodejs22", "{\n\"dependencies\": \"lodash\"}",
			`package.json: line 2, column 17: "dependencies" must be an object of name to version, got string`},
		{"npm optionalDependencies is an array", "nodejs22", `{"optionalDependencies": ["a"]}`,
			`package.json: line 1, column 26: "optionalDependencies" must be an object of name to version, got array`},
		{"npm version is a number", "nodejs22", "{\"dependencies\": {\n  \"lodash\": 4}}",
			`package.json: line 2, column 13: "dependencies"."lodash" must be a version string, got number`},
		{"npm version is an object", "nodejs22", `{"peerDependencies": {"a": {"version": "1"}}}`,
			`package.json: line 1, column 28: "peerDependencies"."a" must be a version string, got object`},
		{"npm version is null", "nodejs22", `{"dependencies": {"a": null}}`,
			`package.json: line 1, column 24: "dependencies"."a" must be a version string, got null`},
		{"npm empty name", "nodejs22", `{"dependencies": {"": "1.0.0"}}`,
			`package.json: line 1, column 19: "dependencies" has an empty package name`},
		{"pip invalid version", "python312", "flask==3.0\nrequests>=\n",
			`requirements.txt line 2: invalid version specifier ">=" in "requests>="`},
		{"pip garbage version", "python312", "requests==2.x.y",
			`requirements.txt line 1: invalid version "2.x.y" in "requests==2.x.y"`},
		{"pip bad name", "python312", "\n\n_requests==1.0",
			`requirements.txt line 3: invalid requirement "_requests==1.0": expected a package name`},
		{"pip text after name", "python312", "requests 2.0",
			`requirements.txt line 1: invalid requirement "requests 2.0": unexpected "2.0" after the name`},
		{"pip unknown option", "python312", "--frobnicate",
			`requirements.txt line 1: unsupported option "--frobnicate"`},
		{"pip option without value", "python312", "flask==1.0\n-r",
			`requirements.txt line 2: option -r needs a value`},
		{"pip flag with value", "python312", "--pre=yes",
			`requirements.txt line 1: option --pre takes no value`},
		{"pip unknown per-requirement option", "python312", "flask==1.0 --upgrade",
			`requirements.txt line 1: unsupported option "--upgrade" after requirement "flask==1.0"`},
		{"pip bad hash", "python312", "flask==1.0 --hash=md5:abc",
			`requirements.txt line 1: invalid --hash value "md5:abc" (want sha256|sha384|sha512:<hex>)`},
		{"pip empty marker", "python312", "flask==1.0;",
			`requirements.txt line 1: empty environment marker in "flask==1.0;"`},
		{"pip malformed extras", "python312", "flask[async==1.0",
			`requirements.txt line 1: invalid requirement "flask[async==1.0": malformed extras`},
		{"pip error in a continuation names its first line", "python312", "a==1\nb \\\n >=\\\n",
			`requirements.txt line 2: invalid version specifier ">=" in "b >="`},
		{"pip unbalanced parenthesis", "python312", "flask (==1.0",
			`requirements.txt line 1: invalid requirement "flask (==1.0": unbalanced parenthesis`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(c.runtime, c.deps)
			if err == nil {
				t.Fatalf("Check(%q, %q) = %#v, want error %q", c.runtime, c.deps, got, c.want)
			}
			if err.Error() != c.want {
				t.Errorf("Check(%q, %q) error\n got  %s\n want %s", c.runtime, c.deps, err, c.want)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	if got := Summary(nil); got != "" {
		t.Errorf("Summary(nil) = %q, want empty", got)
	}
	findings := []Finding{
		{Name: "requests", Spec: ">=2", Reason: ReasonNotEqual},
		{Name: "flask", Reason: ReasonNoVersion},
		{Name: "lodash", Spec: "^4.17.0", Reason: ReasonCaret},
	}
	want := `unpinned dependencies resolve differently at each Pod start: ` +
		`flask (no version), lodash "^4.17.0" (caret range), requests ">=2" (not ==); pin exact versions`
	if got := Summary(findings); got != want {
		t.Errorf("Summary()\n got  %s\n want %s", got, want)
	}
	// the input is not reordered
	if findings[0].Name != "requests" {
		t.Errorf("Summary reordered its argument: %#v", findings)
	}
}

func TestCheckThenSummary(t *testing.T) {
	f, err := Check("python312", "requests>=2\n")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Check("nodejs22", `{"dependencies":{"lodash":"^4.17.0"}}`)
	if err != nil {
		t.Fatal(err)
	}
	got := Summary(append(f, g...))
	want := `unpinned dependencies resolve differently at each Pod start: lodash "^4.17.0" (caret range), requests ">=2" (not ==); pin exact versions`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func checkInvariants(t *testing.T, findings []Finding, err error) {
	t.Helper()
	if err != nil {
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
		if findings != nil {
			t.Fatalf("findings %#v returned together with error %v", findings, err)
		}
		return
	}
	for _, f := range findings {
		if f.Reason == "" {
			t.Fatalf("finding without reason: %#v", f)
		}
	}
	if s := Summary(findings); len(findings) > 0 && !strings.HasSuffix(s, "; pin exact versions") {
		t.Fatalf("malformed summary %q", s)
	}
}

func FuzzCheckNPM(f *testing.F) {
	f.Add([]byte(`{"dependencies":{"a":"^1.0.0","b":"1.2.3"},"optionalDependencies":{"c":"latest"}}`))
	f.Add([]byte(`{"peerDependencies":{"a":"*"},"peerDependenciesMeta":{"a":{"optional":true}}}`))
	f.Add([]byte(`{"dependencies":{"a":"npm:@s/b@^1","c":"github:u/r#` + sha1Hex + `::path:x"}}`))
	f.Add([]byte(`{"dependencies":{"a":"https://github.com/u/r","b":"git@github.com:u/r.git#semver:1"}}`))
	f.Add([]byte(`{"dependencies":[1]}`))
	f.Add([]byte("\ufeff{\"dependencies\":{\"a\":1}}"))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		findings, err := CheckNPM(data)
		checkInvariants(t, findings, err)
	})
}

func FuzzCheckPip(f *testing.F) {
	f.Add([]byte("requests==2.32.3\nflask>=3 # c\n-r base.txt\n"))
	f.Add([]byte("a[b,c] (==1.0) ; python_version<'3'\n-e git+https://h/x.git@main#egg=x\n"))
	f.Add([]byte("x @ https://h/x.whl#sha256=" + sha256Hex + "\n--index-url=https://h\n"))
	f.Add([]byte("a \\\n==1 \\\n--hash=sha256:ab\n"))
	f.Add([]byte("-rfile.txt -c\n"))
	f.Add([]byte("git+ssh://u@h:/p@"))
	f.Fuzz(func(t *testing.T, data []byte) {
		findings, err := CheckPip(data)
		checkInvariants(t, findings, err)
	})
}
