package function

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/gitsource/gittest"
	"github.com/kyma-serverless/serverless/internal/runtime"
	"github.com/kyma-serverless/serverless/internal/workload"
	"github.com/kyma-serverless/serverless/test/framework"
)

const (
	timeout = 2 * time.Minute
	poll    = 200 * time.Millisecond

	nodeSource   = "module.exports = { main: function (event, context) { return 'hello' } }\n"
	nodeDeps     = `{"name": "hello", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}`
	pythonCode   = "def main(event, context):\n    return 'hello'\n"
	pythonDeps   = "requests==2.32.3\n"
	maxNewWrites = 4
)

var _ = Describe("Function controller in buildless mode", Ordered, func() {
	// running collects the Functions that reach Running, for the steady-state check.
	var running []*serverlessv1alpha2.Function

	It("runs an inline Node.js Function with at most 4 writes", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		mark := writes.Mark()
		fn := createFunction(ctx, inlineFunction(ns, "hello", serverlessv1alpha2.RuntimeNodejs22, nodeSource, nodeDeps))
		got := waitRunning(ctx, fn)
		running = append(running, got)

		cfgCond := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
		Expect(cfgCond.Status).To(Equal(metav1.ConditionTrue))
		Expect(cfgCond.Reason).To(Equal(serverlessv1alpha2.ReasonSourceUpdated))
		Expect(got.Status.Runtime).To(Equal(serverlessv1alpha2.RuntimeNodejs22))
		Expect(got.Status.RuntimeImage).To(Equal("registry.test/function-runtime-nodejs22:test"))
		Expect(got.Status.Replicas).To(Equal(int32(1)))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Expect(got.Status.PodSelector).To(ContainSubstring(serverlessv1alpha2.LabelUUID + "=" + string(got.UID)))

		dep := expectDeployment(ctx, got, "registry.test/function-runtime-nodejs22:test")
		expectService(ctx, got)
		cm := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello-source"}, cm)).To(Succeed())
		Expect(cm.Data).To(Equal(map[string]string{"handler.js": nodeSource, "package.json": nodeDeps}))
		Expect(cm.Labels).To(HaveKeyWithValue(serverlessv1alpha2.LabelResource, workload.ResourceSource))
		Expect(metav1.IsControlledBy(cm, got)).To(BeTrue())
		Expect(dep.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("ConfigMap.Name", "hello-source")))

		expectWritesAtMost(ns, mark, maxNewWrites)
	})

	It("runs an inline Python Function", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		mark := writes.Mark()
		fn := createFunction(ctx, inlineFunction(ns, "hello-py", serverlessv1alpha2.RuntimePython312, pythonCode, pythonDeps))
		got := waitRunning(ctx, fn)
		running = append(running, got)
		dep := expectDeployment(ctx, got, "registry.test/function-runtime-python312:test")
		c := dep.Spec.Template.Spec.Containers[0]
		Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/kubeless")))
		expectService(ctx, got)
		cm := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello-py-source"}, cm)).To(Succeed())
		Expect(cm.Data).To(Equal(map[string]string{"handler.py": pythonCode, "requirements.txt": pythonDeps}))
		expectWritesAtMost(ns, mark, maxNewWrites)
	})

	It("runs a Function in a namespace that enforces the restricted Pod Security Standard", func(ctx SpecContext) {
		ns := newNamespace(ctx, restricted)
		fn := createFunction(ctx, inlineFunction(ns, "strict", serverlessv1alpha2.RuntimeNodejs24, nodeSource, nodeDeps))
		got := waitRunning(ctx, fn)
		running = append(running, got)
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(got), dep)).To(Succeed())
		Expect(deploymentAvailable(dep)).To(BeTrue())
		pods := &corev1.PodList{}
		Expect(k8s.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels(workload.SelectorLabels(got)))).To(Succeed())
		Expect(pods.Items).NotTo(BeEmpty(), "the Pods passed PodSecurity admission")
	})

	It("warns about unpinned dependencies and still runs the Function", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		deps := `{"dependencies": {"lodash": "^4.17.0", "express": "latest", "uuid": "9.0.1"}}`
		fn := createFunction(ctx, inlineFunction(ns, "loose", serverlessv1alpha2.RuntimeNodejs22, nodeSource, deps))
		got := waitRunning(ctx, fn)
		running = append(running, got)
		c := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Reason).To(Equal(serverlessv1alpha2.ReasonUnpinnedDependencies))
		Expect(c.Message).To(ContainSubstring(`lodash "^4.17.0" (caret range)`))
		Expect(c.Message).To(ContainSubstring(`express "latest" (dist-tag)`))
		Expect(c.Message).NotTo(ContainSubstring("uuid"))
		ev := expectWarningEvent(ctx, got, serverlessv1alpha2.ReasonUnpinnedDependencies)
		Expect(ev.Message).To(ContainSubstring("lodash"))
	})

	It("reports a malformed package.json precisely and creates no Deployment", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		deps := "{\n  \"dependencies\": {\n    \"lodash\": \"4.17.21\",\n  }\n}"
		fn := createFunction(ctx, inlineFunction(ns, "broken", serverlessv1alpha2.RuntimeNodejs22, nodeSource, deps))
		var c *metav1.Condition
		Eventually(func(g Gomega) {
			got := &serverlessv1alpha2.Function{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
			c = meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
			g.Expect(c).NotTo(BeNil())
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal(serverlessv1alpha2.ReasonInvalidFunctionSpec))
		Expect(c.Message).To(ContainSubstring("package.json: line 4, column 3: invalid JSON"))
		expectWarningEvent(ctx, fn, serverlessv1alpha2.ReasonInvalidFunctionSpec)
		Consistently(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(fn), &appsv1.Deployment{}))
		}).WithTimeout(3 * time.Second).WithPolling(poll).Should(BeTrue())
	})

	It("notes that nodejs20 is deprecated", func(ctx SpecContext) {
		ns := newNamespace(ctx, nil)
		fn := createFunction(ctx, inlineFunction(ns, "old", serverlessv1alpha2.RuntimeNodejs20, nodeSource, ""))
		got := waitRunning(ctx, fn)
		running = append(running, got)
		c := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
		Expect(c.Message).To(ContainSubstring("runtime nodejs20 is deprecated"))
	})

	It("runs a Git Function at the resolved commit and follows new commits", func(ctx SpecContext) {
		root, err := os.MkdirTemp("", "git-")
		Expect(err).NotTo(HaveOccurred())
		gitRoot = root
		repo, err := gittest.InitRepo(filepath.Join(root, "functions.git"), "main")
		Expect(err).NotTo(HaveOccurred())
		first, err := repo.Commit(map[string]string{"hello/handler.js": nodeSource, "hello/package.json": nodeDeps, "README.md": "functions"}, "first")
		Expect(err).NotTo(HaveOccurred())
		server, err := gittest.NewServer(root, gittest.Options{Username: "bot", Password: "s3cret"})
		Expect(err).NotTo(HaveOccurred())
		gitServer = server // polled until the end of the suite

		ns := newNamespace(ctx, restricted)
		Expect(k8s.Create(ctx, framework.BasicAuthSecret(ns, "git-creds", "bot", "s3cret"))).To(Succeed())
		fn := framework.GitFunction(ns, "from-git", server.RepoURL("functions.git"), "/hello", "git-creds")
		mark := writes.Mark()
		fn = createFunction(ctx, fn)
		got := waitRunning(ctx, fn)
		Expect(got.Status.Commit).To(Equal(first))
		Expect(got.Status.Reference).To(Equal("main"))
		Expect(got.Status.BaseDir).To(Equal("/hello"))
		dep := expectDeployment(ctx, got, "registry.test/function-runtime-nodejs22:test")
		Expect(deploymentAvailable(dep)).To(BeTrue(), "the init container passes restricted admission too")
		init := dep.Spec.Template.Spec.InitContainers
		Expect(init).To(HaveLen(1))
		Expect(init[0].Image).To(Equal("registry.test/function-git-fetcher:test"))
		Expect(init[0].Args).To(ContainElements("--commit="+first, "--repository="+server.RepoURL("functions.git"), "--base-dir=/hello"))
		Expect(init[0].Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "git-creds")))
		expectService(ctx, got)
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "from-git-source"}, &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
		expectWritesAtMost(ns, mark, maxNewWrites)
		oldChecksum := dep.Spec.Template.Annotations[workload.ChecksumAnnotation]

		second, err := repo.Commit(map[string]string{"hello/handler.js": "module.exports = { main: () => 'v2' }\n"}, "second")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			cur := &serverlessv1alpha2.Function{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), cur)).To(Succeed())
			g.Expect(cur.Status.Commit).To(Equal(second))
			c := meta.FindStatusCondition(cur.Status.Conditions, serverlessv1alpha2.ConditionRunning)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.InitContainers[0].Args).To(ContainElement("--commit=" + second))
			newChecksum := d.Spec.Template.Annotations[workload.ChecksumAnnotation]
			g.Expect(newChecksum).NotTo(Equal(oldChecksum))
			// the Pods rolled: every Pod left carries the new checksum
			pods := &corev1.PodList{}
			g.Expect(k8s.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels(workload.SelectorLabels(got)))).To(Succeed())
			g.Expect(pods.Items).NotTo(BeEmpty())
			for _, p := range pods.Items {
				g.Expect(p.DeletionTimestamp).To(BeNil())
				g.Expect(p.Annotations).To(HaveKeyWithValue(workload.ChecksumAnnotation, newChecksum))
			}
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		cur := &serverlessv1alpha2.Function{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), cur)).To(Succeed())
		running = append(running, cur)
	})

	It("rolls the Pods when the inline source changes", func(ctx SpecContext) {
		fn := running[0]
		old := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), old)).To(Succeed())
		cur := &serverlessv1alpha2.Function{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), cur)).To(Succeed())
		const changed = "module.exports = { main: function () { return 'changed' } }\n"
		cur.Spec.Source.Inline.Source = changed
		Expect(k8s.Update(ctx, cur)).To(Succeed())
		got := waitRunning(ctx, cur)
		Expect(got.Status.ObservedGeneration).To(Equal(cur.Generation))
		cm := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: fn.Namespace, Name: fn.Name + "-source"}, cm)).To(Succeed())
		Expect(cm.Data).To(HaveKeyWithValue("handler.js", changed))
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
		Expect(dep.UID).To(Equal(old.UID), "the Deployment is updated in place")
		Expect(dep.Spec.Template.Annotations[workload.ChecksumAnnotation]).NotTo(Equal(old.Spec.Template.Annotations[workload.ChecksumAnnotation]))
	})

	It("repairs a deleted Service and a scaled Deployment", func(ctx SpecContext) {
		fn := running[1]
		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), svc)).To(Succeed())
		Expect(k8s.Delete(ctx, svc)).To(Succeed())
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
		three := int32(3)
		dep.Spec.Replicas = &three
		Expect(k8s.Update(ctx, dep)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &corev1.Service{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
			g.Expect(got.UID).NotTo(Equal(svc.UID))
			d := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), d)).To(Succeed())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		waitRunning(ctx, fn)
	})

	It("makes no writes while nothing changes", func(ctx SpecContext) {
		// let trailing rollouts settle, then watch over several requeue periods (and Git polls)
		for _, fn := range running {
			waitRunning(ctx, fn)
		}
		time.Sleep(2 * time.Second)
		mark := writes.Mark()
		time.Sleep(10 * time.Second)
		got := writes.Since(mark, "")
		GinkgoWriter.Printf("writes by the controller over 10s at rest with %d running Functions: %d %v\n", len(running), len(got), got)
		Expect(got).To(BeEmpty())
	})

	It("reports an invalid or missing configuration on every Function and keeps running", func(ctx SpecContext) {
		fn := running[0]
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())

		writeConfig(ctx, "mode: sideways\nrequeueDuration: soon\n")
		waitConfigured(ctx, fn, metav1.ConditionFalse, function.ReasonConfigInvalid, `requeueDuration: must be a duration such as 5m or 30s`)
		Expect(controller.Done()).NotTo(BeClosed())

		writeConfig(ctx, "mode: sideways\n")
		c := waitConfigured(ctx, fn, metav1.ConditionFalse, function.ReasonConfigInvalid, `mode: must be "buildless" or "build", got "sideways"`)
		Expect(c.Message).To(ContainSubstring("runtimeImages.nodejs22"))
		expectWarningEvent(ctx, fn, function.ReasonConfigInvalid)

		Expect(k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: configNamespace, Name: functionconfig.ConfigMapName}})).To(Succeed())
		waitConfigured(ctx, fn, metav1.ConditionFalse, function.ReasonConfigMissing, configNamespace+"/"+functionconfig.ConfigMapName+" was not found")
		Expect(controller.Done()).NotTo(BeClosed())

		after := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), after)).To(Succeed())
		Expect(after.Generation).To(Equal(dep.Generation), "the Deployment is left alone")

		writeConfig(ctx, validConfig)
		waitConfigured(ctx, fn, metav1.ConditionTrue, serverlessv1alpha2.ReasonSourceUpdated, "")
		waitRunning(ctx, fn)

		// a new runtime image in the configuration reaches every Function of that runtime
		writeConfig(ctx, strings.Replace(validConfig, "function-runtime-nodejs22:test", "function-runtime-nodejs22:v2", 1))
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.test/function-runtime-nodejs22:v2"))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Eventually(func(g Gomega) {
			got := &serverlessv1alpha2.Function{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
			g.Expect(got.Status.RuntimeImage).To(Equal("registry.test/function-runtime-nodejs22:v2"))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		waitRunning(ctx, fn)
	})
})

var restricted = map[string]string{
	"pod-security.kubernetes.io/enforce":         "restricted",
	"pod-security.kubernetes.io/enforce-version": "latest",
}

func newNamespace(ctx context.Context, labels map[string]string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fn-", Labels: labels}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func inlineFunction(ns, name string, rt serverlessv1alpha2.Runtime, source, deps string) *serverlessv1alpha2.Function {
	return &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: rt,
			Source:  serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{Source: source, Dependencies: deps}},
		},
	}
}

func createFunction(ctx context.Context, fn *serverlessv1alpha2.Function) *serverlessv1alpha2.Function {
	Expect(k8s.Create(ctx, fn)).To(Succeed())
	return fn
}

// waitRunning waits for Running=True for the Function's current generation.
func waitRunning(ctx context.Context, fn *serverlessv1alpha2.Function) *serverlessv1alpha2.Function {
	got := &serverlessv1alpha2.Function{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionRunning)
		g.Expect(c).NotTo(BeNil(), "Running condition")
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "Running: %s %s", c.Reason, c.Message)
		g.Expect(c.Reason).To(Equal(serverlessv1alpha2.ReasonDeploymentReady))
		g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		cc := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
		g.Expect(cc).NotTo(BeNil())
		g.Expect(cc.Status).To(Equal(metav1.ConditionTrue))
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return got
}

func waitConfigured(ctx context.Context, fn *serverlessv1alpha2.Function, status metav1.ConditionStatus, reason, message string) *metav1.Condition {
	var c *metav1.Condition
	Eventually(func(g Gomega) {
		got := &serverlessv1alpha2.Function{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
		c = meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionConfigurationReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(status), c.Message)
		g.Expect(c.Reason).To(Equal(reason), c.Message)
		g.Expect(c.Message).To(ContainSubstring(message))
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return c
}

// expectDeployment checks the Deployment of a Function in buildless mode and returns it.
func expectDeployment(ctx context.Context, fn *serverlessv1alpha2.Function, image string) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
	Expect(metav1.IsControlledBy(dep, fn)).To(BeTrue())
	Expect(dep.Spec.Selector.MatchLabels).To(Equal(map[string]string{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         string(fn.UID),
		serverlessv1alpha2.LabelResource:     serverlessv1alpha2.ResourceDeployment,
	}))
	Expect(dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
	spec := dep.Spec.Template.Spec
	Expect(spec.Containers).To(HaveLen(1))
	c := spec.Containers[0]
	Expect(c.Image).To(Equal(image))
	rt, ok := runtime.Lookup(string(fn.Spec.Runtime))
	Expect(ok).To(BeTrue())
	Expect(c.Command).To(Equal(rt.StartCommand(runtime.StartOptions{
		SourceDir: runtime.DefaultSourceDir, WorkDir: rt.AppDir, RegistryConfigDir: runtime.DefaultRegistryConfigDir,
	})))
	Expect(c.Resources.Requests.Cpu().String()).To(Equal("100m"), "the configured default preset S")

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, dir := range rt.WritableDirs() {
		Expect(mounts).To(HaveKey(dir))
		Expect(volumes[mounts[dir].Name].EmptyDir).NotTo(BeNil(), dir)
	}
	Expect(mounts).To(HaveKey(runtime.DefaultSourceDir))
	reg := volumes[mounts[runtime.DefaultRegistryConfigDir].Name].Secret
	Expect(reg).NotTo(BeNil())
	Expect(reg.SecretName).To(Equal(runtime.RegistryConfigSecretName))
	Expect(*reg.Optional).To(BeTrue())

	Expect(c.StartupProbe.HTTPGet.Path).To(Equal("/healthz"))
	Expect(c.StartupProbe.HTTPGet.Port).To(Equal(intstr.FromInt32(8080)))
	Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/healthz"))
	Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))

	psc := spec.SecurityContext
	Expect(*psc.RunAsNonRoot).To(BeTrue())
	Expect(*psc.RunAsUser).To(Equal(int64(1000)))
	Expect(*psc.RunAsGroup).To(Equal(int64(1000)))
	Expect(*psc.FSGroup).To(Equal(int64(1000)))
	Expect(psc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	Expect(*spec.AutomountServiceAccountToken).To(BeFalse())
	for _, ctr := range append(spec.InitContainers, spec.Containers...) {
		Expect(*ctr.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		Expect(*ctr.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
		Expect(ctr.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	}
	Expect(dep.Spec.Template.Annotations).To(HaveKey(workload.ChecksumAnnotation))
	return dep
}

func expectService(ctx context.Context, fn *serverlessv1alpha2.Function) {
	svc := &corev1.Service{}
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), svc)).To(Succeed())
	Expect(metav1.IsControlledBy(svc, fn)).To(BeTrue())
	Expect(svc.Spec.Selector).To(Equal(workload.SelectorLabels(fn)))
	Expect(svc.Spec.Ports).To(HaveLen(1))
	Expect(svc.Spec.Ports[0].Port).To(Equal(int32(80)))
	Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(8080)))
}

func expectWarningEvent(ctx context.Context, fn *serverlessv1alpha2.Function, reason string) corev1.Event {
	GinkgoHelper()
	e, err := framework.WaitForEvent(ctx, k8s, fn.Namespace, "Function", fn.Name, corev1.EventTypeWarning, reason, 30*time.Second)
	Expect(err).NotTo(HaveOccurred())
	return e
}

// expectWritesAtMost checks the controller's writes into a namespace since mark, after the
// Function settled for a moment.
func expectWritesAtMost(ns string, mark, limit int) {
	time.Sleep(2 * time.Second)
	got := writes.Since(mark, "/namespaces/"+ns+"/")
	GinkgoWriter.Printf("writes by the controller for a new Function in %s: %d\n  %s\n", ns, len(got), strings.Join(got, "\n  "))
	Expect(len(got)).To(BeNumerically("<=", limit), "writes: %v", got)
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
