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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// availabilityWatch follows every Function Deployment and records, per phase, the smallest
// margin of available replicas over the Function's desired replicas.
type availabilityWatch struct {
	mu      sync.Mutex
	desired map[types.NamespacedName]int32 // by Function
	phase   string
	margin  map[string]int32 // smallest available-desired seen, by phase
	drops   []string
	checked map[types.NamespacedName]bool // Deployments seen with their built image
}

const (
	phaseToBuildless = "build to buildless"
	phaseToBuild     = "buildless to build"
)

func (a *availabilityWatch) observe(ev watch.Event) {
	d := ev.Object.(*appsv1.Deployment)
	key := types.NamespacedName{Namespace: d.Namespace, Name: d.Labels[serverlessv1alpha2.LabelFunctionName]}
	a.mu.Lock()
	defer a.mu.Unlock()
	want, ok := a.desired[key]
	if !ok || a.phase == "" {
		return
	}
	if ev.Type == watch.Deleted {
		a.drops = append(a.drops, fmt.Sprintf("%s: Deployment %s deleted", a.phase, d.Name))
		return
	}
	if a.phase == phaseToBuild && len(d.Spec.Template.Spec.Containers) > 0 && !a.checked[key] {
		if image := d.Spec.Template.Spec.Containers[0].Image; image != runtimeImage {
			// the Deployment runs a built image: its build Job must have succeeded before
			a.checked[key] = true
			tag := image[strings.LastIndex(image, ":")+1:]
			job := &batchv1.Job{}
			err := k8s.Get(context.Background(), client.ObjectKey{Namespace: d.Namespace, Name: build.JobName(key.Name, tag)}, job)
			if state, _ := build.JobState(job); err != nil || state != build.StateSucceeded {
				a.drops = append(a.drops, fmt.Sprintf("%s: %s switched to %s before its build succeeded (%v)", a.phase, key, image, err))
			} else if missing := missingMounts(context.Background(), job); len(missing) > 0 {
				a.drops = append(a.drops, fmt.Sprintf("%s: the build Job of %s mounts missing ConfigMaps %v", a.phase, key, missing))
			}
		}
	}
	margin := d.Status.AvailableReplicas - want
	if m, seen := a.margin[a.phase]; !seen || margin < m {
		a.margin[a.phase] = margin
	}
	if margin < 0 {
		a.drops = append(a.drops, fmt.Sprintf("%s: %s has %d of %d replicas available", a.phase, key, d.Status.AvailableReplicas, want))
	}
}

func (a *availabilityWatch) setPhase(p string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.phase = p
}

func countFunctions(ctx context.Context) int {
	list := &serverlessv1alpha2.FunctionList{}
	Expect(k8s.List(ctx, list)).To(Succeed())
	return len(list.Items)
}

var _ = Describe("Switching 50 Functions between build and buildless mode", Ordered, func() {
	const (
		functions  = 50
		namespaces = 5
		maxJobs    = 10
	)
	var (
		fns      []*serverlessv1alpha2.Function
		nss      []string
		deps     = map[types.NamespacedName]types.UID{}
		hpas     = map[types.NamespacedName]types.UID{}
		watcher  = &availabilityWatch{desired: map[types.NamespacedName]int32{}, margin: map[string]int32{}, checked: map[types.NamespacedName]bool{}}
		stopWtch context.CancelFunc
	)

	BeforeAll(func(ctx SpecContext) {
		Expect(h.WriteConfig(ctx, buildConfig(maxJobs))).To(Succeed())
		for range namespaces {
			nss = append(nss, newNamespace(ctx, nil))
		}
		for i := range functions {
			fn := inlineFunction(nss[i%namespaces], fmt.Sprintf("switch-%02d", i), fmt.Sprintf("module.exports = { main: () => %d }\n", i))
			want := int32(1)
			switch {
			case i%10 == 5:
				fn.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{MinReplicas: ptr.To[int32](1), MaxReplicas: ptr.To[int32](3)}
			case i%3 == 0:
				want = 2
				fn.Spec.Replicas = ptr.To(want)
			}
			Expect(k8s.Create(ctx, fn)).To(Succeed())
			fns = append(fns, fn)
			watcher.desired[client.ObjectKeyFromObject(fn)] = want
		}
		for i, fn := range fns {
			fns[i] = waitBuiltAndRunning(ctx, fn)
			dep := &appsv1.Deployment{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
			deps[client.ObjectKeyFromObject(fn)] = dep.UID
			if fn.Spec.ScaleConfig != nil {
				hpa := &autoscalingv2.HorizontalPodAutoscaler{}
				Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), hpa)).To(Succeed())
				hpas[client.ObjectKeyFromObject(fn)] = hpa.UID
			}
		}
		for _, ns := range nss {
			expectDockerfileCopy(ctx, Default, ns, serverlessv1alpha2.RuntimeNodejs22)
		}
		var wctx context.Context
		wctx, stopWtch = context.WithCancel(context.Background())
		watchEach(wctx, &appsv1.DeploymentList{}, watcher.observe,
			client.MatchingLabels{serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController})
	}, NodeTimeout(10*time.Minute))

	AfterAll(func(ctx SpecContext) {
		if stopWtch != nil {
			stopWtch()
		}
		Expect(h.WriteConfig(ctx, buildConfig(2))).To(Succeed())
	})

	// expectSameObjects checks that every Deployment and autoscaler is the one from the start.
	expectSameObjects := func(ctx context.Context) {
		for key, uid := range deps {
			dep := &appsv1.Deployment{}
			Expect(k8s.Get(ctx, key, dep)).To(Succeed())
			Expect(dep.UID).To(Equal(uid), "Deployment %s kept", key)
		}
		for key, uid := range hpas {
			hpa := &autoscalingv2.HorizontalPodAutoscaler{}
			Expect(k8s.Get(ctx, key, hpa)).To(Succeed())
			Expect(hpa.UID).To(Equal(uid), "HorizontalPodAutoscaler %s kept", key)
			Expect(hpa.Spec.ScaleTargetRef.Name).To(Equal(key.Name))
		}
	}

	It("moves every Function to buildless mode in place and removes the build objects", func(ctx SpecContext) {
		watcher.setPhase(phaseToBuildless)
		mark, start := h.Writes.Mark(), time.Now()
		Expect(h.WriteConfig(ctx, configFor("buildless", maxJobs))).To(Succeed())

		for _, fn := range fns {
			Eventually(func(g Gomega) {
				got := getFunction(ctx, g, fn)
				expectCondition(g, got, serverlessv1alpha2.ConditionRunning, metav1.ConditionTrue, serverlessv1alpha2.ReasonDeploymentReady)
				g.Expect(meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionBuildReady)).To(BeNil())
				dep := &appsv1.Deployment{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
				c := dep.Spec.Template.Spec.Containers[0]
				g.Expect(c.Image).To(Equal(runtimeImage))
				g.Expect(c.Command).NotTo(BeEmpty())
				g.Expect(dep.Spec.Template.Spec.ImagePullSecrets).To(BeEmpty())
				g.Expect(rolledOut(dep)).To(BeTrue())
			}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		}
		for _, ns := range nss {
			Eventually(func(g Gomega) {
				jobs := &batchv1.JobList{}
				g.Expect(k8s.List(ctx, jobs, client.InNamespace(ns))).To(Succeed())
				g.Expect(jobs.Items).To(BeEmpty(), "build Jobs in %s", ns)
				cms := &corev1.ConfigMapList{}
				g.Expect(k8s.List(ctx, cms, client.InNamespace(ns), client.MatchingLabels{serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController})).To(Succeed())
				for _, cm := range cms.Items {
					g.Expect(build.IsBuildLeftover(&cm, build.KindConfigMap)).To(BeFalse(), "build ConfigMap %s/%s", ns, cm.Name)
				}
				err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.RegistrySecretCopyName}, &corev1.Secret{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "registry Secret copy in %s", ns)
				err = k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount}, &corev1.ServiceAccount{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ServiceAccount in %s", ns)
				err = k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: dockerfileName(serverlessv1alpha2.RuntimeNodejs22)}, &corev1.ConfigMap{})
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "Dockerfile copy in %s", ns)
			}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		}
		took := time.Since(start)
		writes := h.Writes.Since(mark, "")
		watcher.setPhase("")
		expectSameObjects(ctx)

		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		GinkgoWriter.Printf("build -> buildless: %d Functions in %d namespaces in %s, %d writes for all %d Functions of the cluster %v, smallest margin of available over desired replicas: %d\n",
			functions, namespaces, took.Round(time.Millisecond), len(writes), countFunctions(ctx), summarize(writes), watcher.margin[phaseToBuildless])
		Expect(watcher.drops).To(BeEmpty())
		Expect(watcher.margin).To(HaveKeyWithValue(phaseToBuildless, BeNumerically(">=", 0)))
	})

	It("moves every Function back to build mode, switching each Deployment once its image is built", func(ctx SpecContext) {
		watcher.setPhase(phaseToBuild)
		mark, start := h.Writes.Mark(), time.Now()
		Expect(h.WriteConfig(ctx, buildConfig(maxJobs))).To(Succeed())
		for _, fn := range fns {
			waitBuiltAndRunning(ctx, fn)
			Eventually(func() bool {
				err := k8s.Get(ctx, client.ObjectKey{Namespace: fn.Namespace, Name: workload.SourceConfigMapName(fn)}, &corev1.ConfigMap{})
				return apierrors.IsNotFound(err)
			}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(BeTrue(), "the buildless source ConfigMap of %s is deleted", fn.Name)
		}
		took := time.Since(start)
		writes := h.Writes.Since(mark, "")
		watcher.setPhase("")
		expectSameObjects(ctx)
		for _, ns := range nss {
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.RegistrySecretCopyName}, &corev1.Secret{})).To(Succeed())
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount}, &corev1.ServiceAccount{})).To(Succeed())
			expectDockerfileCopy(ctx, Default, ns, serverlessv1alpha2.RuntimeNodejs22)
		}

		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		GinkgoWriter.Printf("buildless -> build: %d Functions in %d namespaces in %s, %d writes for all %d Functions of the cluster %v, smallest margin of available over desired replicas: %d\n",
			functions, namespaces, took.Round(time.Millisecond), len(writes), countFunctions(ctx), summarize(writes), watcher.margin[phaseToBuild])
		Expect(watcher.drops).To(BeEmpty())
		Expect(watcher.margin).To(HaveKeyWithValue(phaseToBuild, BeNumerically(">=", 0)))
		expectNoSecret(ctx, nss...)
	})
})
