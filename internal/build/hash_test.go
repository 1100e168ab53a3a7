package build

import (
	"regexp"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

type hashInput struct {
	fn     *serverlessv1alpha2.Function
	image  string
	commit string
}

func TestContentHashInline(t *testing.T) {
	base := hashInput{inlineFunction("orders"), testRuntimeImage, ""}
	cases := []struct {
		name    string
		change  func(*hashInput)
		changes bool
	}{
		{"nothing", func(*hashInput) {}, false},
		{"source", func(in *hashInput) { in.fn.Spec.Source.Inline.Source += "\n// v2" }, true},
		{"dependencies", func(in *hashInput) {
			in.fn.Spec.Source.Inline.Dependencies = `{"name":"fn","dependencies":{"lodash":"4.17.20"}}`
		}, true},
		{"dependencies removed", func(in *hashInput) { in.fn.Spec.Source.Inline.Dependencies = "" }, true},
		{"source moved into dependencies", func(in *hashInput) {
			s := in.fn.Spec.Source.Inline
			s.Source, s.Dependencies = s.Source+s.Dependencies[:1], s.Dependencies[1:]
		}, true},
		{"runtime", func(in *hashInput) { in.fn.Spec.Runtime = serverlessv1alpha2.RuntimeNodejs24 }, true},
		{"runtime image", func(in *hashInput) { in.image = testRuntimeImage + "-patch" }, true},
		{"commit is ignored for inline sources", func(in *hashInput) { in.commit = testCommit }, false},
		{"name", func(in *hashInput) { in.fn.Name = "payments" }, false},
		{"namespace", func(in *hashInput) { in.fn.Namespace = "team-b" }, false},
		{"uid", func(in *hashInput) { in.fn.UID = "other" }, false},
		{"replicas", func(in *hashInput) { in.fn.Spec.Replicas = ptr.To[int32](3) }, false},
		{"env", func(in *hashInput) { in.fn.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "b"}} }, false},
		{"labels", func(in *hashInput) { in.fn.Spec.Labels = map[string]string{"app": "x"} }, false},
		{"scaleConfig", func(in *hashInput) {
			in.fn.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](3)}
		}, false},
		{"build resources", func(in *hashInput) {
			in.fn.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Build: &serverlessv1alpha2.BuildResources{
				Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			}}
		}, false},
		{"runtimeImageOverride (it enters as the runtime image)", func(in *hashInput) { in.fn.Spec.RuntimeImageOverride = "x" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			want := ContentHash(base.fn, base.image, base.commit)
			in := hashInput{base.fn.DeepCopy(), base.image, base.commit}
			c.change(&in)
			got := ContentHash(in.fn, in.image, in.commit)
			g.Expect(got).To(MatchRegexp(`^[0-9a-f]{16}$`))
			if c.changes {
				g.Expect(got).NotTo(Equal(want))
			} else {
				g.Expect(got).To(Equal(want))
			}
		})
	}
}

func TestContentHashGit(t *testing.T) {
	base := hashInput{gitFunction("orders"), testRuntimeImage, testCommit}
	cases := []struct {
		name    string
		change  func(*hashInput)
		changes bool
	}{
		{"nothing", func(*hashInput) {}, false},
		{"commit", func(in *hashInput) { in.commit = "0000000000000000000000000000000000000001" }, true},
		{"url", func(in *hashInput) { in.fn.Spec.Source.GitRepository.URL = "https://git.example.com/team/other.git" }, true},
		{"baseDir", func(in *hashInput) { in.fn.Spec.Source.GitRepository.BaseDir = "/bye" }, true},
		{"baseDir spelt differently", func(in *hashInput) { in.fn.Spec.Source.GitRepository.BaseDir = "./hello/" }, false},
		{"runtime", func(in *hashInput) { in.fn.Spec.Runtime = serverlessv1alpha2.RuntimePython312 }, true},
		{"runtime image", func(in *hashInput) { in.image = "registry.test/other:1" }, true},
		{"reference alone (the commit decides)", func(in *hashInput) { in.fn.Spec.Source.GitRepository.Reference = "v2" }, false},
		{"auth", func(in *hashInput) {
			in.fn.Spec.Source.GitRepository.Auth = &serverlessv1alpha2.RepositoryAuth{Type: serverlessv1alpha2.RepositoryAuthBasic, SecretName: "creds"}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			want := ContentHash(base.fn, base.image, base.commit)
			in := hashInput{base.fn.DeepCopy(), base.image, base.commit}
			c.change(&in)
			got := ContentHash(in.fn, in.image, in.commit)
			if c.changes {
				g.Expect(got).NotTo(Equal(want))
			} else {
				g.Expect(got).To(Equal(want))
			}
		})
	}
}

func TestContentHashStable(t *testing.T) {
	g := NewWithT(t)
	// The tag is persisted in image names: it must not change between releases.
	g.Expect(ContentHash(inlineFunction("orders"), testRuntimeImage, "")).To(Equal("85f0b35914fbff29"))
	g.Expect(ContentHash(gitFunction("orders"), testRuntimeImage, testCommit)).To(Equal("35f6d64e9f272dc2"))

	// Inline and Git sources never collide even with look-alike content.
	inline := inlineFunction("x", func(f *serverlessv1alpha2.Function) {
		f.Spec.Source.Inline = &serverlessv1alpha2.InlineSource{Source: "https://git.example.com/r.git", Dependencies: testCommit}
	})
	git := gitFunction("x", func(f *serverlessv1alpha2.Function) {
		f.Spec.Source.GitRepository = &serverlessv1alpha2.GitRepositorySource{URL: "https://git.example.com/r.git"}
	})
	g.Expect(ContentHash(inline, "", testCommit)).NotTo(Equal(ContentHash(git, "", testCommit)))
	g.Expect(regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(ContentHash(&serverlessv1alpha2.Function{}, "", ""))).To(BeTrue())
}

func TestCleanBaseDir(t *testing.T) {
	cases := map[string]string{"": "", "/": "", ".": "", "./": "", "fn": "fn", "/fn/": "fn", "./fn": "fn", "a//b/": "a/b", "a/../b": "b"}
	for in, want := range cases {
		NewWithT(t).Expect(cleanBaseDir(in)).To(Equal(want), "cleanBaseDir(%q)", in)
	}
}
