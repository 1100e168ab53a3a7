package workload

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/runtime"
)

func testConfig() *functionconfig.Config {
	cfg := functionconfig.Default()
	for _, rt := range serverlessv1alpha2.Runtimes {
		cfg.RuntimeImages[string(rt)] = "registry.test/function-runtime-" + string(rt) + ":1.0.0"
	}
	cfg.GitFetcherImage = "registry.test/function-git-fetcher:1.0.0"
	cfg.TracingEndpoint = ""
	return cfg
}

type fnOption func(*serverlessv1alpha2.Function)

func newFunction(rt serverlessv1alpha2.Runtime, opts ...fnOption) *serverlessv1alpha2.Function {
	fn := &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "team", UID: "1234-5678", Generation: 1},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: rt,
			Source: serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{
				Source:       "module.exports = { main: () => 'hi' }",
				Dependencies: `{"dependencies":{"lodash":"4.17.21"}}`,
			}},
		},
	}
	for _, o := range opts {
		o(fn)
	}
	return fn
}

func params(fn *serverlessv1alpha2.Function, commit string) Params {
	rt, ok := runtime.Lookup(string(fn.Spec.Runtime))
	if !ok {
		panic("unknown runtime " + fn.Spec.Runtime)
	}
	return Params{Function: fn, Config: testConfig(), Runtime: rt, Commit: commit}
}

func withGit(auth *serverlessv1alpha2.RepositoryAuth) fnOption {
	return func(fn *serverlessv1alpha2.Function) {
		fn.Spec.Source = serverlessv1alpha2.Source{GitRepository: &serverlessv1alpha2.GitRepositorySource{
			URL: "https://git.test/org/repo.git", BaseDir: "/functions/hello", Reference: "main", Auth: auth,
		}}
	}
}

const commit = "0123456789abcdef0123456789abcdef01234567"

func TestSourceConfigMap(t *testing.T) {
	g := NewWithT(t)
	fn := newFunction(serverlessv1alpha2.RuntimeNodejs22)
	cm, err := SourceConfigMap(params(fn, ""))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Name).To(Equal("hello-source"))
	g.Expect(cm.Namespace).To(Equal("team"))
	g.Expect(cm.Data).To(Equal(map[string]string{
		"handler.js":   fn.Spec.Source.Inline.Source,
		"package.json": fn.Spec.Source.Inline.Dependencies,
	}))
	g.Expect(cm.Labels).To(HaveKeyWithValue(serverlessv1alpha2.LabelResource, ResourceSource))
	g.Expect(cm.Labels).To(HaveKeyWithValue(serverlessv1alpha2.LabelManagedBy, serverlessv1alpha2.ManagedByFunctionController))
	g.Expect(cm.OwnerReferences).To(HaveLen(1))
	g.Expect(*cm.OwnerReferences[0].Controller).To(BeTrue())
	g.Expect(cm.OwnerReferences[0].UID).To(BeEquivalentTo("1234-5678"))
	g.Expect(Hash(cm)).To(HaveLen(32))

	py := newFunction(serverlessv1alpha2.RuntimePython312, func(f *serverlessv1alpha2.Function) {
		f.Spec.Source.Inline.Dependencies = ""
	})
	cm, err = SourceConfigMap(params(py, ""))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data).To(HaveLen(1))
	g.Expect(cm.Data).To(HaveKey("handler.py"))

	cm, err = SourceConfigMap(params(newFunction(serverlessv1alpha2.RuntimeNodejs22, withGit(nil)), commit))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm).To(BeNil())
}

func TestHashIsStableAndFollowsChanges(t *testing.T) {
	g := NewWithT(t)
	build := func(opts ...fnOption) string {
		dep, err := Deployment(params(newFunction(serverlessv1alpha2.RuntimeNodejs22, opts...), ""))
		g.Expect(err).NotTo(HaveOccurred())
		return Hash(dep)
	}
	base := build()
	g.Expect(build()).To(Equal(base))
	g.Expect(build(func(f *serverlessv1alpha2.Function) { f.Spec.Source.Inline.Source += "\n" })).NotTo(Equal(base))
	g.Expect(build(func(f *serverlessv1alpha2.Function) { f.Spec.Replicas = ptr(int32(3)) })).NotTo(Equal(base))
	g.Expect(build(func(f *serverlessv1alpha2.Function) { f.Spec.Labels = map[string]string{"a": "b"} })).NotTo(Equal(base))
}

func TestDeploymentInline(t *testing.T) {
	g := NewWithT(t)
	fn := newFunction(serverlessv1alpha2.RuntimeNodejs22, func(f *serverlessv1alpha2.Function) {
		f.Spec.Replicas = ptr(int32(2))
		f.Spec.Env = []corev1.EnvVar{{Name: "GREETING", Value: "a"}, {Name: "FUNC_NAME", Value: "x"}, {Name: "GREETING", Value: "b"}}
		f.Spec.Labels = map[string]string{"team": "blue"}
		f.Spec.Annotations = map[string]string{"note": "x"}
		f.Spec.SecretMounts = []serverlessv1alpha2.SecretMount{{SecretName: "creds", MountPath: "/secrets/creds"}}
	})
	p := params(fn, "")
	dep, err := Deployment(p)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(dep.Name).To(Equal("hello"))
	g.Expect(dep.Spec.Selector.MatchLabels).To(Equal(map[string]string{
		serverlessv1alpha2.LabelFunctionName: "hello",
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         "1234-5678",
		serverlessv1alpha2.LabelResource:     serverlessv1alpha2.ResourceDeployment,
	}))
	g.Expect(*dep.Spec.Replicas).To(Equal(int32(2)))
	g.Expect(dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
	tpl := dep.Spec.Template
	g.Expect(tpl.Labels).To(HaveKeyWithValue("team", "blue"))
	for k, v := range dep.Spec.Selector.MatchLabels {
		g.Expect(tpl.Labels).To(HaveKeyWithValue(k, v))
	}
	g.Expect(tpl.Annotations).To(HaveKeyWithValue("note", "x"))
	g.Expect(tpl.Annotations).To(HaveKeyWithValue(ChecksumAnnotation, SourceChecksum(p)))
	g.Expect(*tpl.Spec.AutomountServiceAccountToken).To(BeFalse())
	g.Expect(tpl.Spec.InitContainers).To(BeEmpty())

	g.Expect(tpl.Spec.Containers).To(HaveLen(1))
	c := tpl.Spec.Containers[0]
	g.Expect(c.Name).To(Equal(FunctionContainer))
	g.Expect(c.Image).To(Equal("registry.test/function-runtime-nodejs22:1.0.0"))
	g.Expect(c.Command).To(Equal(p.Runtime.StartCommand(runtime.StartOptions{
		SourceDir: runtime.DefaultSourceDir, WorkDir: p.Runtime.AppDir, RegistryConfigDir: runtime.DefaultRegistryConfigDir,
	})))
	g.Expect(c.Resources.Limits.Memory().String()).To(Equal("1Gi")) // default profile L

	env := map[string]string{}
	for _, e := range c.Env {
		g.Expect(env).NotTo(HaveKey(e.Name), "duplicate env %s", e.Name)
		env[e.Name] = e.Value
	}
	g.Expect(env).To(HaveKeyWithValue("GREETING", "b"))
	g.Expect(env).To(HaveKeyWithValue("FUNC_NAME", "hello"))
	g.Expect(env).To(HaveKeyWithValue("FUNC_RUNTIME", "nodejs22"))
	g.Expect(env).To(HaveKeyWithValue("HANDLER_PATH", "./function/handler.js"))

	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	g.Expect(mounts).To(HaveKey(runtime.DefaultSourceDir))
	g.Expect(mounts[runtime.DefaultSourceDir].ReadOnly).To(BeTrue())
	g.Expect(mounts).To(HaveKey("/usr/src/app/function"))
	g.Expect(mounts).To(HaveKey("/tmp"))
	g.Expect(mounts).To(HaveKey(runtime.DefaultRegistryConfigDir))
	g.Expect(mounts).To(HaveKey("/secrets/creds"))

	vols := map[string]corev1.Volume{}
	for _, v := range tpl.Spec.Volumes {
		vols[v.Name] = v
	}
	g.Expect(vols[mounts[runtime.DefaultSourceDir].Name].ConfigMap.Name).To(Equal("hello-source"))
	g.Expect(vols[mounts["/usr/src/app/function"].Name].EmptyDir).NotTo(BeNil())
	g.Expect(vols[mounts["/tmp"].Name].EmptyDir).NotTo(BeNil())
	reg := vols[mounts[runtime.DefaultRegistryConfigDir].Name].Secret
	g.Expect(reg.SecretName).To(Equal(runtime.RegistryConfigSecretName))
	g.Expect(*reg.Optional).To(BeTrue())
	g.Expect(vols[mounts["/secrets/creds"].Name].Secret.SecretName).To(Equal("creds"))

	for _, pr := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		g.Expect(pr.HTTPGet.Path).To(Equal("/healthz"))
		g.Expect(pr.HTTPGet.Port).To(Equal(intstr.FromInt32(8080)))
	}
	g.Expect(c.StartupProbe.PeriodSeconds * c.StartupProbe.FailureThreshold).To(BeNumerically(">=", 300))

	expectRestricted(g, dep)
}

func TestDeploymentPython(t *testing.T) {
	g := NewWithT(t)
	p := params(newFunction(serverlessv1alpha2.RuntimePython312), "")
	dep, err := Deployment(p)
	g.Expect(err).NotTo(HaveOccurred())
	c := dep.Spec.Template.Spec.Containers[0]
	g.Expect(c.Image).To(Equal("registry.test/function-runtime-python312:1.0.0"))
	g.Expect(strings.Join(c.Command, " ")).To(ContainSubstring("pip"))
	var paths []string
	for _, m := range c.VolumeMounts {
		paths = append(paths, m.MountPath)
	}
	g.Expect(paths).To(ContainElements("/kubeless", "/tmp", runtime.DefaultSourceDir))
	expectRestricted(g, dep)
}

func TestDeploymentResources(t *testing.T) {
	g := NewWithT(t)
	explicit := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("300Mi")}}
	dep, err := Deployment(params(newFunction(serverlessv1alpha2.RuntimeNodejs22, func(f *serverlessv1alpha2.Function) {
		f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Function: &serverlessv1alpha2.FunctionResources{Resources: &explicit}}
	}), ""))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dep.Spec.Template.Spec.Containers[0].Resources).To(Equal(explicit))

	dep, err = Deployment(params(newFunction(serverlessv1alpha2.RuntimeNodejs22, func(f *serverlessv1alpha2.Function) {
		f.Spec.ResourceConfiguration = &serverlessv1alpha2.ResourceConfiguration{Function: &serverlessv1alpha2.FunctionResources{Profile: "XS"}}
	}), ""))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dep.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String()).To(Equal("50m"))

	p := params(newFunction(serverlessv1alpha2.RuntimeNodejs22, func(f *serverlessv1alpha2.Function) {
		f.Spec.RuntimeImageOverride = "registry.test/custom:2"
	}), "")
	dep, err = Deployment(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.test/custom:2"))

	p = params(newFunction(serverlessv1alpha2.RuntimeNodejs22), "")
	delete(p.Config.RuntimeImages, "nodejs22")
	_, err = Deployment(p)
	g.Expect(err).To(MatchError(ContainSubstring("no image is configured for runtime nodejs22")))
}

func TestDeploymentGit(t *testing.T) {
	g := NewWithT(t)
	for _, auth := range []*serverlessv1alpha2.RepositoryAuth{
		nil,
		{Type: serverlessv1alpha2.RepositoryAuthBasic, SecretName: "git-creds"},
		{Type: serverlessv1alpha2.RepositoryAuthSSHKey, SecretName: "git-key"},
	} {
		fn := newFunction(serverlessv1alpha2.RuntimeNodejs22, withGit(auth))
		p := params(fn, commit)
		dep, err := Deployment(p)
		g.Expect(err).NotTo(HaveOccurred())
		spec := dep.Spec.Template.Spec
		g.Expect(spec.InitContainers).To(HaveLen(1))
		init := spec.InitContainers[0]
		g.Expect(init.Image).To(Equal("registry.test/function-git-fetcher:1.0.0"))
		g.Expect(init.Args).To(ContainElements("--commit="+commit, "--repository=https://git.test/org/repo.git", "--base-dir=/functions/hello"))
		g.Expect(dep.Spec.Template.Annotations[ChecksumAnnotation]).To(Equal(SourceChecksum(p)))
		for _, v := range spec.Volumes {
			if v.Name == sourceVolume {
				g.Expect(v.EmptyDir).NotTo(BeNil())
			}
		}
		switch {
		case auth == nil:
			g.Expect(init.Env).To(BeEmpty())
		case auth.Type == serverlessv1alpha2.RepositoryAuthBasic:
			g.Expect(init.Env).To(HaveLen(2))
			g.Expect(init.Env[0].ValueFrom.SecretKeyRef.Name).To(Equal("git-creds"))
			g.Expect(init.Env[0].ValueFrom.SecretKeyRef.Key).To(Equal(GitSecretUsernameKey))
		default:
			g.Expect(init.Args).To(ContainElement("--ssh-key-file=" + GitAuthDir + "/key"))
			g.Expect(spec.Volumes).To(ContainElement(HaveField("Name", gitAuthVolume)))
		}
		expectRestricted(g, dep)

		other := params(fn, strings.Repeat("f", 40))
		dep2, err := Deployment(other)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(dep2.Spec.Template.Annotations[ChecksumAnnotation]).NotTo(Equal(dep.Spec.Template.Annotations[ChecksumAnnotation]))
	}

	_, err := Deployment(params(newFunction(serverlessv1alpha2.RuntimeNodejs22, withGit(nil)), ""))
	g.Expect(err).To(MatchError(ContainSubstring("no resolved commit")))
}

func TestService(t *testing.T) {
	g := NewWithT(t)
	fn := newFunction(serverlessv1alpha2.RuntimeNodejs22)
	svc, err := Service(params(fn, ""))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(svc.Name).To(Equal("hello"))
	g.Expect(svc.Spec.Selector).To(Equal(SelectorLabels(fn)))
	g.Expect(svc.Spec.Ports).To(HaveLen(1))
	g.Expect(svc.Spec.Ports[0].Port).To(Equal(int32(80)))
	g.Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8080)))
	g.Expect(svc.Labels).To(HaveKeyWithValue(serverlessv1alpha2.LabelResource, ResourceService))
	g.Expect(PodSelector(fn)).To(ContainSubstring("serverless.kyma-project.io/uuid=1234-5678"))
}

func TestWritableVolumeName(t *testing.T) {
	g := NewWithT(t)
	g.Expect(writableVolumeName("/usr/src/app/function")).To(Equal("writable-usr-src-app-function"))
	g.Expect(writableVolumeName("/tmp/")).To(Equal("writable-tmp"))
	long := writableVolumeName("/" + strings.Repeat("a", 100))
	g.Expect(len(long)).To(BeNumerically("<=", 63))
}

// expectRestricted evaluates the Pod template with the Pod Security admission's own checks.
func expectRestricted(g Gomega, dep *appsv1.Deployment) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	g.Expect(err).NotTo(HaveOccurred())
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &dep.Spec.Template.ObjectMeta, &dep.Spec.Template.Spec))
	g.Expect(res.Allowed).To(BeTrue(), "restricted: %v %v", res.ForbiddenReasons, res.ForbiddenDetails)

	spec := dep.Spec.Template.Spec
	g.Expect(*spec.SecurityContext.RunAsUser).To(Equal(int64(1000)))
	g.Expect(*spec.SecurityContext.RunAsGroup).To(Equal(int64(1000)))
	g.Expect(*spec.SecurityContext.FSGroup).To(Equal(int64(1000)))
	g.Expect(*spec.AutomountServiceAccountToken).To(BeFalse())
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		g.Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue(), c.Name)
		g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse(), c.Name)
		g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")), c.Name)
	}
}
