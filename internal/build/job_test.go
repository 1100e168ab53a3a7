package build

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

func testJobInput() JobInput {
	return JobInput{
		Config:       testConfig(),
		PushAddress:  "registry.example.com:5000",
		RuntimeImage: testRuntimeImage,
		Commit:       testCommit,
	}
}

func container(g *WithT, containers []corev1.Container, name string) corev1.Container {
	for _, c := range containers {
		if c.Name == name {
			return c
		}
	}
	g.Expect(containers).To(ContainElement(HaveField("Name", name)))
	return corev1.Container{}
}

func volume(g *WithT, job *batchv1.Job, name string) corev1.Volume {
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	g.Expect(job.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Name", name)))
	return corev1.Volume{}
}

func mounts(c corev1.Container) map[string]corev1.VolumeMount {
	out := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		out[m.MountPath] = m
	}
	return out
}

func TestJobInline(t *testing.T) {
	g := NewWithT(t)
	fn := inlineFunction("orders")
	in := testJobInput()
	job := Job(fn, in)
	tag := ContentHash(fn, testRuntimeImage, "")

	g.Expect(job.Name).To(Equal("orders-build-" + tag))
	g.Expect(job.Namespace).To(Equal(testNamespace))
	wantLabels := map[string]string{
		"serverless.kyma-project.io/function-name": "orders",
		"serverless.kyma-project.io/managed-by":    "function-controller",
		"serverless.kyma-project.io/uuid":          string(testUID),
		"serverless.kyma-project.io/resource":      "build-job",
		"serverless.kyma-project.io/build-hash":    tag,
	}
	g.Expect(job.Labels).To(Equal(wantLabels))
	g.Expect(job.Spec.Template.Labels).To(Equal(wantLabels))
	g.Expect(job.OwnerReferences).To(BeEmpty(), "the caller sets the owner")
	g.Expect(job.Spec.BackoffLimit).To(Equal(ptr.To[int32](1)))
	g.Expect(job.Spec.TTLSecondsAfterFinished).To(BeNil())
	g.Expect(job.Spec.ActiveDeadlineSeconds).NotTo(BeNil())

	pod := job.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("serverless-function"))
	g.Expect(pod.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
	g.Expect(pod.RestartPolicy).To(Equal(corev1.RestartPolicyNever))
	g.Expect(pod.InitContainers).To(BeEmpty())
	g.Expect(pod.Containers).To(HaveLen(1))
	g.Expect(job.Spec.Template.Annotations).To(HaveKeyWithValue("sidecar.istio.io/inject", "false"))

	exec := container(g, pod.Containers, "executor")
	g.Expect(exec.Image).To(Equal("registry.test/kaniko-executor:v1.23.2"))
	g.Expect(exec.Args).To(Equal([]string{
		"--insecure",
		"--cache=true",
		"--destination=registry.example.com:5000/team-a-orders:" + tag,
		"--context=dir:///workspace",
		"--dockerfile=/workspace/Dockerfile",
		"--build-arg=base_image=" + testRuntimeImage,
	}))
	g.Expect(exec.Args[2]).To(Equal("--destination=" + in.Image(fn)))
	g.Expect(exec.SecurityContext).To(BeNil(), "the executor runs as root; nothing pretends otherwise")

	m := mounts(exec)
	g.Expect(m).To(HaveLen(4))
	g.Expect(m["/workspace/Dockerfile"]).To(Equal(corev1.VolumeMount{Name: "dockerfile", MountPath: "/workspace/Dockerfile", SubPath: "Dockerfile", ReadOnly: true}))
	g.Expect(m["/workspace/src"].ReadOnly).To(BeTrue())
	g.Expect(m["/kaniko/.docker"].ReadOnly).To(BeTrue())
	g.Expect(m).To(HaveKey("/workspace"))

	g.Expect(volume(g, job, m["/workspace/Dockerfile"].Name).ConfigMap).To(Equal(&corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "dockerfile-nodejs22"},
		Items:                []corev1.KeyToPath{{Key: "Dockerfile", Path: "Dockerfile"}},
	}))
	g.Expect(volume(g, job, m["/workspace/src"].Name).ConfigMap.Name).To(Equal(SourceConfigMap(fn).Name))
	g.Expect(volume(g, job, m["/kaniko/.docker"].Name).Secret).To(Equal(&corev1.SecretVolumeSource{
		SecretName: "serverless-registry-config-default",
		Items:      []corev1.KeyToPath{{Key: ".dockerconfigjson", Path: "config.json"}},
	}))
	g.Expect(volume(g, job, m["/workspace"].Name).EmptyDir).NotTo(BeNil())

	// Default build preset "normal".
	g.Expect(exec.Resources.Requests.Cpu().String()).To(Equal("700m"))
	g.Expect(exec.Resources.Limits.Memory().String()).To(Equal("1100Mi"))

	// Deterministic, and the configuration is not modified.
	g.Expect(Job(fn, in)).To(Equal(job))
	g.Expect(in.Config.Build.ExecutorArgs).To(Equal([]string{"--insecure", "--cache=true"}))
}

func TestJobOptions(t *testing.T) {
	cases := []struct {
		name  string
		fn    *serverlessv1alpha2.Function
		input func(*JobInput)
		check func(*WithT, *batchv1.Job)
	}{
		{
			name: "python runtime uses its Dockerfile",
			fn:   inlineFunction("py", func(f *serverlessv1alpha2.Function) { f.Spec.Runtime = serverlessv1alpha2.RuntimePython312 }),
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(volume(g, job, "dockerfile").ConfigMap.Name).To(Equal("dockerfile-python312"))
			},
		},
		{
			name:  "custom Dockerfile prefix",
			fn:    inlineFunction("orders"),
			input: func(in *JobInput) { in.Config.Build.DockerfileConfigMapPrefix = "serverless-dockerfile-" },
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(volume(g, job, "dockerfile").ConfigMap.Name).To(Equal("serverless-dockerfile-nodejs22"))
			},
		},
		{
			name:  "registry Secret named by the caller",
			fn:    inlineFunction("orders"),
			input: func(in *JobInput) { in.RegistrySecretName = "my-registry" },
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(volume(g, job, "registry-config").Secret.SecretName).To(Equal("my-registry"))
			},
		},
		{
			name: "build profile",
			fn: inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
				f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Build: &serverlessv1alpha2.BuildResources{Profile: "fast"}}
			}),
			check: func(g *WithT, job *batchv1.Job) {
				r := job.Spec.Template.Spec.Containers[0].Resources
				g.Expect(r.Requests.Cpu().String()).To(Equal("1100m"))
				g.Expect(r.Limits.Memory().String()).To(Equal("1700Mi"))
			},
		},
		{
			name: "explicit build resources",
			fn: inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
				f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Build: &serverlessv1alpha2.BuildResources{
					Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("3Gi")}},
				}}
			}),
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(job.Spec.Template.Spec.Containers[0].Resources).To(Equal(corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("3Gi")},
				}))
			},
		},
		{
			name: "function resources do not leak into the build",
			fn: inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
				f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Function: &serverlessv1alpha2.FunctionResources{Profile: "XS"}}
			}),
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(job.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String()).To(Equal("700m"))
			},
		},
		{
			name: "unknown preset falls back to the default",
			fn: inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
				f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Build: &serverlessv1alpha2.BuildResources{Profile: "fast"}}
			}),
			input: func(in *JobInput) {
				in.Config.Build.Presets.Default = "normal"
				delete(in.Config.Build.Presets.Presets, "fast")
			},
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(job.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String()).To(Equal("700m"))
			},
		},
		{
			name:  "no presets at all",
			fn:    inlineFunction("orders"),
			input: func(in *JobInput) { in.Config.Build.Presets = functionconfig.Presets{} },
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(job.Spec.Template.Spec.Containers[0].Resources).To(Equal(corev1.ResourceRequirements{}))
			},
		},
		{
			name:  "no configuration uses the defaults",
			fn:    inlineFunction("orders"),
			input: func(in *JobInput) { in.Config = nil },
			check: func(g *WithT, job *batchv1.Job) {
				g.Expect(job.Spec.Template.Spec.Containers[0].Args[:len(functionconfig.DefaultExecutorArgs())]).To(Equal(functionconfig.DefaultExecutorArgs()))
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			in := testJobInput()
			if c.input != nil {
				c.input(&in)
			}
			c.check(g, Job(c.fn, in))
		})
	}
}

func TestJobGit(t *testing.T) {
	cases := []struct {
		name     string
		auth     *serverlessv1alpha2.RepositoryAuth
		wantArgs []string
		wantEnv  []string
	}{
		{name: "public repository"},
		{
			name:    "basic auth",
			auth:    &serverlessv1alpha2.RepositoryAuth{Type: serverlessv1alpha2.RepositoryAuthBasic, SecretName: "git-creds"},
			wantEnv: []string{"GIT_USERNAME=git-creds/username", "GIT_PASSWORD=git-creds/password"},
		},
		{
			name: "SSH key",
			auth: &serverlessv1alpha2.RepositoryAuth{Type: serverlessv1alpha2.RepositoryAuthSSHKey, SecretName: "git-key"},
			wantArgs: []string{
				"--ssh-key-file=/serverless/git-auth/key",
				"--known-hosts-file=/serverless/git-auth/knownHosts",
			},
			wantEnv: []string{"GIT_SSH_KEY_PASSWORD=git-key/password?"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			fn := gitFunction("git-fn", func(f *serverlessv1alpha2.Function) { f.Spec.Source.GitRepository.Auth = c.auth })
			job := Job(fn, testJobInput())
			pod := job.Spec.Template.Spec

			g.Expect(job.Name).To(Equal("git-fn-build-" + ContentHash(fn, testRuntimeImage, testCommit)))
			g.Expect(pod.InitContainers).To(HaveLen(1))
			fetcher := pod.InitContainers[0]
			g.Expect(fetcher.Name).To(Equal("repo-fetcher"))
			g.Expect(fetcher.Image).To(Equal("registry.test/function-git-fetcher:1.0.0"))
			g.Expect(fetcher.Args).To(Equal(append([]string{
				"--repository=https://git.example.com/team/functions.git",
				"--commit=" + testCommit,
				"--base-dir=/hello",
				"--dest=/workspace/src",
			}, c.wantArgs...)))
			g.Expect(*fetcher.SecurityContext.RunAsNonRoot).To(BeTrue())
			g.Expect(*fetcher.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
			g.Expect(*fetcher.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())

			var env []string
			for _, e := range fetcher.Env {
				ref := e.ValueFrom.SecretKeyRef
				s := e.Name + "=" + ref.Name + "/" + ref.Key
				if ptr.Deref(ref.Optional, false) {
					s += "?"
				}
				env = append(env, s)
			}
			g.Expect(env).To(Equal(c.wantEnv))

			// The fetcher and the executor share the source emptyDir.
			fm, em := mounts(fetcher), mounts(pod.Containers[0])
			g.Expect(fm["/workspace/src"].Name).To(Equal(em["/workspace/src"].Name))
			g.Expect(em["/workspace/src"].ReadOnly).To(BeFalse())
			g.Expect(volume(g, job, em["/workspace/src"].Name).EmptyDir).NotTo(BeNil())
			g.Expect(volume(g, job, fm["/tmp"].Name).EmptyDir).NotTo(BeNil())

			if c.auth == nil {
				g.Expect(fm).NotTo(HaveKey("/serverless/git-auth"))
				g.Expect(pod.SecurityContext.FSGroup).To(Equal(ptr.To[int64](1000)))
				return
			}
			g.Expect(fm["/serverless/git-auth"].ReadOnly).To(BeTrue())
			secret := volume(g, job, fm["/serverless/git-auth"].Name).Secret
			g.Expect(secret.SecretName).To(Equal(c.auth.SecretName))
			g.Expect(secret.DefaultMode).To(Equal(ptr.To[int32](0o440)))
			g.Expect(em).NotTo(HaveKey("/serverless/git-auth"), "the executor never sees Git credentials")
		})
	}
}

func TestJobNamesStayValid(t *testing.T) {
	g := NewWithT(t)
	tag := ContentHash(inlineFunction("x"), testRuntimeImage, "")
	seen := map[string]string{}
	for n := 1; n <= 63; n++ {
		for _, last := range []string{"a", "b"} {
			name := strings.Repeat("f", n-1) + last
			if n > 10 {
				name = strings.Repeat("f", n-10) + "-x-" + strings.Repeat("9", 6) + last
			}
			fn := inlineFunction(name)
			for _, got := range []string{JobName(name, tag), SourceConfigMapName(fn), Job(fn, testJobInput()).Name} {
				g.Expect(len(got)).To(BeNumerically("<=", 63), got)
				g.Expect(validation.IsDNS1123Label(got)).To(BeEmpty(), got)
			}
			jobName := JobName(name, tag)
			g.Expect(jobName).To(HaveSuffix("-build-" + tag))
			g.Expect(seen).NotTo(HaveKey(jobName), "%s and %s share a Job name", name, seen[jobName])
			seen[jobName] = name
			if n+len("-build-")+len(tag) <= 63 {
				g.Expect(jobName).To(Equal(name + "-build-" + tag))
			} else {
				g.Expect(jobName).To(HavePrefix(name[:20]))
			}
		}
	}
	// Job labels stay valid label values too.
	long := inlineFunction(strings.Repeat("a", 63))
	for k, v := range Job(long, testJobInput()).Labels {
		g.Expect(validation.IsValidLabelValue(v)).To(BeEmpty(), k)
	}
}

func TestSourceConfigMap(t *testing.T) {
	cases := []struct {
		name     string
		fn       *serverlessv1alpha2.Function
		wantData map[string]string
	}{
		{
			name: "nodejs",
			fn:   inlineFunction("orders"),
			wantData: map[string]string{
				"handler.js":   "module.exports = { main: function () { return 'hello' } }",
				"package.json": `{"name":"fn","dependencies":{"lodash":"4.17.21"}}`,
			},
		},
		{
			name: "nodejs without dependencies gets an empty package.json object",
			fn:   inlineFunction("orders", func(f *serverlessv1alpha2.Function) { f.Spec.Source.Inline.Dependencies = " \n" }),
			wantData: map[string]string{
				"handler.js":   "module.exports = { main: function () { return 'hello' } }",
				"package.json": "{}",
			},
		},
		{
			name: "python",
			fn: inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
				f.Spec.Runtime = serverlessv1alpha2.RuntimePython312
				f.Spec.Source.Inline = &serverlessv1alpha2.InlineSource{Source: "def main(event, context):\n  return 'hi'\n"}
			}),
			wantData: map[string]string{"handler.py": "def main(event, context):\n  return 'hi'\n", "requirements.txt": ""},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			cm := SourceConfigMap(c.fn)
			g.Expect(cm.Data).To(Equal(c.wantData))
			g.Expect(cm.Name).To(Equal(SourceConfigMapName(c.fn)))
			g.Expect(cm.Name).To(MatchRegexp(`^orders-build-src-[0-9a-f]{16}$`))
			g.Expect(cm.Namespace).To(Equal(testNamespace))
			g.Expect(cm.Immutable).To(Equal(ptr.To(true)))
			g.Expect(cm.Labels).To(Equal(map[string]string{
				"serverless.kyma-project.io/function-name": "orders",
				"serverless.kyma-project.io/managed-by":    "function-controller",
				"serverless.kyma-project.io/uuid":          string(testUID),
				"serverless.kyma-project.io/resource":      "build-source",
			}))
			g.Expect(cm.OwnerReferences).To(BeEmpty())
		})
	}

	g := NewWithT(t)
	base := inlineFunction("orders")
	g.Expect(SourceConfigMap(gitFunction("orders"))).To(BeNil())
	// The name follows the content, and nothing else.
	for _, change := range []func(*serverlessv1alpha2.Function){
		func(f *serverlessv1alpha2.Function) { f.Spec.Source.Inline.Source += " " },
		func(f *serverlessv1alpha2.Function) { f.Spec.Source.Inline.Dependencies = "{}" },
		func(f *serverlessv1alpha2.Function) { f.Spec.Runtime = serverlessv1alpha2.RuntimePython312 },
	} {
		fn := base.DeepCopy()
		change(fn)
		g.Expect(SourceConfigMapName(fn)).NotTo(Equal(SourceConfigMapName(base)))
	}
	same := base.DeepCopy()
	same.Spec.Runtime = serverlessv1alpha2.RuntimeNodejs24
	same.Spec.Replicas = ptr.To[int32](4)
	g.Expect(SourceConfigMapName(same)).To(Equal(SourceConfigMapName(base)))
}
