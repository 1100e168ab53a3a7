package functionbuild

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/workload"
)

var _ = Describe("Function controller in build mode", Ordered, func() {
	var (
		first *serverlessv1alpha2.Function
		ns    string
	)

	It("builds the image of an inline Function and runs it", func(ctx SpecContext) {
		ns = newNamespace(ctx, nil)
		mark := h.Writes.Mark()
		first = inlineFunction(ns, "hello", nodeSource)
		Expect(k8s.Create(ctx, first)).To(Succeed())
		got := waitBuiltAndRunning(ctx, first)
		time.Sleep(2 * time.Second)
		written := h.Writes.Since(mark, "/namespaces/"+ns+"/")
		GinkgoWriter.Printf("writes by the controller for a new Function in build mode (first in its namespace): %d\n  %s\n",
			len(written), strings.Join(written, "\n  "))

		tag := build.ContentHash(got, runtimeImage, "")
		job := &batchv1.Job{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.JobName(got.Name, tag)}, job)).To(Succeed())
		Expect(build.IsJobFinished(job)).To(BeTrue())
		Expect(metav1.IsControlledBy(job, got)).To(BeTrue())
		Expect(job.Labels).To(HaveKeyWithValue(build.LabelContentHash, tag))
		Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--destination=" + build.ImageName(pushAddress, ns, "hello", tag)))
		Expect(missingMounts(ctx, job)).To(BeEmpty(), "the build Job mounts ConfigMaps of its namespace")
		expectDockerfileCopy(ctx, Default, ns, serverlessv1alpha2.RuntimeNodejs22)
		original := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ConfigNamespace, Name: dockerfileName(serverlessv1alpha2.RuntimeNodejs22)}, original)).To(Succeed())
		Expect(original.Labels).NotTo(HaveKey(serverlessv1alpha2.LabelManagedBy), "the original is not written")
		cm := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.SourceConfigMapName(got)}, cm)).To(Succeed())
		Expect(cm.Data).To(HaveKeyWithValue("handler.js", nodeSource))

		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(got), dep)).To(Succeed())
		Expect(metav1.IsControlledBy(dep, got)).To(BeTrue())
		Expect(dep.Spec.Selector.MatchLabels).To(Equal(workload.SelectorLabels(got)))
		Expect(dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
		pod := dep.Spec.Template.Spec
		Expect(pod.ImagePullSecrets).To(ConsistOf(corev1.LocalObjectReference{Name: build.RegistrySecretCopyName}))
		Expect(pod.Containers[0].Image).To(Equal(build.ImageName(pullAddress, ns, "hello", tag)))
		Expect(pod.Containers[0].Command).To(BeEmpty(), "the image's own entrypoint")
		for _, v := range pod.Volumes {
			Expect(v.ConfigMap).To(BeNil(), "no source mount: volume %s", v.Name)
		}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(got), &corev1.Service{})).To(Succeed())

		secret := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.RegistrySecretCopyName}, secret)).To(Succeed())
		Expect(secret.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
		sa := &corev1.ServiceAccount{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount}, sa)).To(Succeed())
		Expect(sa.ImagePullSecrets).To(ConsistOf(corev1.LocalObjectReference{Name: build.RegistrySecretCopyName}))
		Expect(got.Status.RuntimeImage).To(Equal(runtimeImage))
	})

	It("rebuilds exactly once when the source changes, and not for other changes", func(ctx SpecContext) {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		var (
			mu      sync.Mutex
			created []string
		)
		var missing []string
		watchEach(wctx, &batchv1.JobList{}, func(ev watch.Event) {
			if ev.Type == watch.Added {
				job := ev.Object.(*batchv1.Job)
				lacking := missingMounts(wctx, job)
				mu.Lock()
				defer mu.Unlock()
				created = append(created, job.Name)
				missing = append(missing, lacking...)
			}
		}, client.InNamespace(ns))
		// the watch starts with the existing Job
		Eventually(func() int { mu.Lock(); defer mu.Unlock(); return len(created) }).Should(Equal(1))
		old := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(first), old)).To(Succeed())
		oldJob := created[0]
		oldSource := build.SourceConfigMapName(first)

		// replicas and env do not change the image
		cur := getFunction(ctx, Default, first)
		cur.Spec.Replicas = ptr.To[int32](2)
		cur.Spec.Env = []corev1.EnvVar{{Name: "GREETING", Value: "hi"}}
		Expect(k8s.Update(ctx, cur)).To(Succeed())
		waitBuiltAndRunning(ctx, cur)
		Consistently(func() int { mu.Lock(); defer mu.Unlock(); return len(created) }).
			WithTimeout(3 * time.Second).Should(Equal(1))

		cur = getFunction(ctx, Default, first)
		cur.Spec.Source.Inline.Source = "module.exports = { main: function () { return 'v2' } }\n"
		Expect(k8s.Update(ctx, cur)).To(Succeed())
		got := waitBuiltAndRunning(ctx, cur)
		Eventually(func(g Gomega) {
			g.Expect(buildJobs(ctx, g, got)).To(ConsistOf(build.JobName(got.Name, build.ContentHash(got, runtimeImage, ""))))
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: oldSource}, &corev1.ConfigMap{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old build input ConfigMap is deleted")
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Consistently(func() int { mu.Lock(); defer mu.Unlock(); return len(created) }).
			WithTimeout(3 * time.Second).Should(Equal(2))
		mu.Lock()
		Expect(created[1]).NotTo(Equal(oldJob))
		Expect(missing).To(BeEmpty(), "ConfigMaps the build Jobs mount, when they were created")
		mu.Unlock()

		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(first), dep)).To(Succeed())
		Expect(dep.UID).To(Equal(old.UID))
		Expect(*dep.Spec.Replicas).To(Equal(int32(2)))
		first = got
	})

	It("keeps at most the configured number of builds running", func(ctx SpecContext) {
		const functions, limit = 10, 2
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		var (
			mu         sync.Mutex
			unfinished = map[string]bool{}
			peak       int
			waiting    = map[string]bool{}
		)
		watchEach(wctx, &batchv1.JobList{}, func(ev watch.Event) {
			job := ev.Object.(*batchv1.Job)
			mu.Lock()
			defer mu.Unlock()
			key := job.Namespace + "/" + job.Name
			if ev.Type == watch.Deleted || build.IsJobFinished(job) {
				delete(unfinished, key)
			} else {
				unfinished[key] = true
			}
			peak = max(peak, len(unfinished))
		}, client.MatchingLabels{serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController})
		limitNS := newNamespace(ctx, nil)
		watchEach(wctx, &serverlessv1alpha2.FunctionList{}, func(ev watch.Event) {
			fn := ev.Object.(*serverlessv1alpha2.Function)
			if c := meta.FindStatusCondition(fn.Status.Conditions, serverlessv1alpha2.ConditionBuildReady); c != nil && c.Reason == serverlessv1alpha2.ReasonJobWaiting {
				mu.Lock()
				defer mu.Unlock()
				waiting[fn.Name] = true
			}
		}, client.InNamespace(limitNS))

		var fns []*serverlessv1alpha2.Function
		for i := range functions {
			fn := inlineFunction(limitNS, fmt.Sprintf("limited-%d", i), fmt.Sprintf("module.exports = { main: () => %d }\n", i))
			Expect(k8s.Create(ctx, fn)).To(Succeed())
			fns = append(fns, fn)
		}
		for _, fn := range fns {
			waitBuiltAndRunning(ctx, fn)
		}
		mu.Lock()
		defer mu.Unlock()
		GinkgoWriter.Printf("most unfinished build Jobs at once: %d (limit %d); Functions that reported waiting for a slot: %d\n", peak, limit, len(waiting))
		Expect(peak).To(BeNumerically("<=", limit))
		Expect(peak).To(BeNumerically(">", 0))
		Expect(waiting).NotTo(BeEmpty(), "some Functions reported %s", serverlessv1alpha2.ReasonJobWaiting)
	})

	It("refuses to build in a namespace that enforces the restricted Pod Security Standard, without spinning", func(ctx SpecContext) {
		strict := newNamespace(ctx, restricted)
		fn := inlineFunction(strict, "strict", nodeSource)
		Expect(k8s.Create(ctx, fn)).To(Succeed())
		var c *metav1.Condition
		Eventually(func(g Gomega) {
			got := getFunction(ctx, g, fn)
			c = expectCondition(g, got, serverlessv1alpha2.ConditionBuildReady, metav1.ConditionFalse, serverlessv1alpha2.ReasonPodSecurityRestricted)
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Expect(c.Message).To(Equal(build.MessageRestrictedNamespace))
		Expect(c.Message).To(ContainSubstring("Use buildless mode"))
		expectWarningEvent(ctx, fn, serverlessv1alpha2.ReasonPodSecurityRestricted)

		mark := h.Writes.Mark()
		Consistently(func(g Gomega) {
			jobs := &batchv1.JobList{}
			g.Expect(k8s.List(ctx, jobs, client.InNamespace(strict))).To(Succeed())
			g.Expect(jobs.Items).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(6 * time.Second).WithPolling(poll).Should(Succeed())
		Expect(h.Writes.Since(mark, "/namespaces/"+strict+"/")).To(BeEmpty(), "no writes while nothing changes")
		events := &corev1.EventList{}
		Expect(k8s.List(ctx, events, client.InNamespace(strict))).To(Succeed())
		n := 0
		for _, e := range events.Items {
			if e.Reason == serverlessv1alpha2.ReasonPodSecurityRestricted {
				n += int(max(e.Count, 1))
			}
		}
		Expect(n).To(Equal(1), "one Warning Event")
	})

	It("makes scaleConfig a HorizontalPodAutoscaler of the Deployment", func(ctx SpecContext) {
		fn := inlineFunction(ns, "scaled", nodeSource)
		fn.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](3)}
		Expect(k8s.Create(ctx, fn)).To(Succeed())
		got := waitBuiltAndRunning(ctx, fn)
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(got), hpa)).To(Succeed())
		Expect(metav1.IsControlledBy(hpa, got)).To(BeTrue())
		Expect(hpa.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "scaled"}))
		Expect(*hpa.Spec.MinReplicas).To(Equal(int32(1)))
		Expect(hpa.Spec.MaxReplicas).To(Equal(int32(3)))
	})

	It("makes no writes at rest and never reports a registry credential", func(ctx SpecContext) {
		waitBuiltAndRunning(ctx, first)
		time.Sleep(2 * time.Second)
		mark := h.Writes.Mark()
		time.Sleep(10 * time.Second)
		got := h.Writes.Since(mark, "")
		GinkgoWriter.Printf("writes by the controller over 10s at rest in build mode: %d %v\n", len(got), got)
		Expect(got).To(BeEmpty())
		expectNoSecret(ctx, ns)
	})

	It("reports a missing Dockerfile ConfigMap by name, and builds once it is back", func(ctx SpecContext) {
		const rt = serverlessv1alpha2.RuntimePython312
		key := client.ObjectKey{Namespace: ConfigNamespace, Name: dockerfileName(rt)}
		original := &corev1.ConfigMap{}
		Expect(k8s.Get(ctx, key, original)).To(Succeed())
		Expect(k8s.Delete(ctx, original)).To(Succeed())
		restore := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: original.Labels}, Data: original.Data}
		DeferCleanup(func(ctx SpecContext) {
			if err := k8s.Create(ctx, restore.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
				Expect(err).NotTo(HaveOccurred())
			}
		})

		other := newNamespace(ctx, nil)
		fn := inlineFunction(other, "no-dockerfile", "def main(event, context):\n    return 'hello'\n")
		fn.Spec.Runtime = rt
		fn.Spec.Source.Inline.Dependencies = ""
		Expect(k8s.Create(ctx, fn)).To(Succeed())
		var c *metav1.Condition
		Eventually(func(g Gomega) {
			c = expectCondition(g, getFunction(ctx, g, fn), serverlessv1alpha2.ConditionBuildReady, metav1.ConditionFalse, serverlessv1alpha2.ReasonConfigMapFailed)
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Expect(c.Message).To(ContainSubstring(key.String()))
		Expect(c.Message).To(ContainSubstring("not found"))
		expectWarningEvent(ctx, fn, serverlessv1alpha2.ReasonConfigMapFailed)
		jobs := &batchv1.JobList{}
		Expect(k8s.List(ctx, jobs, client.InNamespace(other))).To(Succeed())
		Expect(jobs.Items).To(BeEmpty(), "no build Job without its Dockerfile")

		Expect(k8s.Create(ctx, restore.DeepCopy())).To(Succeed())
		Eventually(func(g Gomega) {
			expectCondition(g, getFunction(ctx, g, fn), serverlessv1alpha2.ConditionBuildReady, metav1.ConditionTrue, serverlessv1alpha2.ReasonJobFinished)
			expectDockerfileCopy(ctx, g, other, rt)
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		jobs = &batchv1.JobList{}
		Expect(k8s.List(ctx, jobs, client.InNamespace(other))).To(Succeed())
		Expect(jobs.Items).NotTo(BeEmpty())
		for i := range jobs.Items {
			Expect(missingMounts(ctx, &jobs.Items[i])).To(BeEmpty())
		}
		Expect(k8s.Delete(ctx, fn)).To(Succeed())
	})
})
