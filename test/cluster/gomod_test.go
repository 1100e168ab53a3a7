package cluster

import (
	"reflect"
	"strings"
	"testing"
)

const sampleKubernetesGoMod = `// This is a generated file. Do not edit directly.

module k8s.io/kubernetes

go 1.26.0

godebug default=go1.26

require (
	github.com/google/go-cmp v0.7.0
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go // a comment
	// k8s.io/commented-out => ./staging/src/k8s.io/commented-out
	github.com/some/fork => github.com/other/fork v1.2.3
	k8s.io/api => ./staging/src/k8s.io/api
)

replace k8s.io/kube-proxy => ./staging/src/k8s.io/kube-proxy
`

func TestStagingReplaces(t *testing.T) {
	got, err := stagingReplaces(sampleKubernetesGoMod)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"k8s.io/api", "k8s.io/client-go", "k8s.io/kube-proxy"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stagingReplaces = %v, want %v", got, want)
	}
}

func TestStagingReplacesErrors(t *testing.T) {
	for name, mod := range map[string]string{
		"unterminated": "module x\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n",
		"no arrow":     "module x\nreplace (\n\tk8s.io/api ./staging\n)\n",
	} {
		if _, err := stagingReplaces(mod); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}

func TestKubernetesBuilderGoMod(t *testing.T) {
	got, err := kubernetesBuilderGoMod(sampleKubernetesGoMod, "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	want := `module localcluster/kubernetes

go 1.26.0

require k8s.io/kubernetes v1.37.2

replace (
	k8s.io/api => k8s.io/api v0.37.2
	k8s.io/client-go => k8s.io/client-go v0.37.2
	k8s.io/kube-proxy => k8s.io/kube-proxy v0.37.2
)
`
	if got != want {
		t.Fatalf("builder go.mod:\n%s\nwant:\n%s", got, want)
	}
}

func TestKubernetesBuilderGoModRejectsInput(t *testing.T) {
	if _, err := kubernetesBuilderGoMod("module k8s.io/kubernetes\n\ngo 1.26.0\n", "v1.37.2"); err == nil ||
		!strings.Contains(err.Error(), "no staging replace") {
		t.Fatalf("expected a missing-replaces error, got %v", err)
	}
	if _, err := kubernetesBuilderGoMod(sampleKubernetesGoMod, "v2.0.0"); err == nil {
		t.Fatal("expected an error for a non-v1 version")
	}
}

func TestStagingVersion(t *testing.T) {
	got, err := stagingVersion("v1.37.2")
	if err != nil || got != "v0.37.2" {
		t.Fatalf("stagingVersion = %q, %v", got, err)
	}
}

func TestKubernetesLDFlags(t *testing.T) {
	got, err := kubernetesLDFlags("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	want := "-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
	if got != want {
		t.Fatalf("ldflags = %q, want %q", got, want)
	}
}

func TestToolsFile(t *testing.T) {
	got := toolsFile([]string{"a/b", "c/d"})
	want := "//go:build tools\n\npackage tools\n\nimport (\n\t_ \"a/b\"\n\t_ \"c/d\"\n)\n"
	if got != want {
		t.Fatalf("toolsFile = %q", got)
	}
}
