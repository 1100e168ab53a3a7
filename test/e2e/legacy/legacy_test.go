package legacy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

const (
	timeout = 3 * time.Minute
	poll    = 200 * time.Millisecond

	fnName       = "orders"
	keptName     = fnName + "-abcde"
	duplicate    = fnName + "-fghij"
	legacyJob    = fnName + "-build-xyz"
	legacyConfig = fnName + "-qwert"
	pullAddress  = "localhost:32137"
	legacyHash   = "3f7a1c9e5b2d4f60"
	runtimeImage = "registry.test/function-runtime-nodejs22:test"
	registryCopy = "serverless-registry-config-default"
	replicas     = 2

	nodeSource = "module.exports = { main: function () { return 'orders' } }\n"
	nodeDeps   = `{"name": "orders", "version": "1.0.0", "dependencies": {"lodash": "4.17.21"}}`
)

// deploymentLog records what a watch saw of the namespace's Deployments.
type deploymentLog struct {
	mu sync.Mutex
	// last state of each Deployment, by name
	last map[string]*appsv1.Deployment
	// keptStateAtDuplicateDeletion is the kept Deployment as last seen when the duplicate
	// was deleted.
	keptStateAtDuplicateDeletion *appsv1.Deployment
	// smallest number of available replicas of the kept Deployment
	minAvailable int32
	watching     bool
}

func (l *deploymentLog) observe(ev watch.Event) {
	d := ev.Object.(*appsv1.Deployment)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Type == watch.Deleted {
		if d.Name == duplicate && l.keptStateAtDuplicateDeletion == nil {
			l.keptStateAtDuplicateDeletion = l.last[keptName]
		}
		delete(l.last, d.Name)
		return
	}
	l.last[d.Name] = d
	if d.Name == keptName && l.watching {
		l.minAvailable = min(l.minAvailable, d.Status.AvailableReplicas)
	}
}

// secretLog records the registry Secret copy's finalizers and deletion as a watch saw them.
type secretLog struct {
	mu                   sync.Mutex
	deletingWithLegacy   bool // deletionTimestamp seen while the legacy finalizer was still there
	finalizerRemovedSeen bool
	deleted              bool
}

func (l *secretLog) observe(ev watch.Event) {
	s := ev.Object.(*corev1.Secret)
	if s.Name != registryCopy {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	legacy := slices.Contains(s.Finalizers, serverlessv1alpha2.FinalizerRegistryConfig)
	switch {
	case ev.Type == watch.Deleted:
		l.deleted = true
	case s.DeletionTimestamp != nil && legacy:
		l.deletingWithLegacy = true
	case !legacy:
		l.finalizerRemovedSeen = true
	}
}

var _ = Describe("A Function with the workload of Kyma's legacy controller", func() {
	It("is adopted in place in buildless mode, and the build leftovers are removed", func(ctx SpecContext) {
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "legacy-"}}
		Expect(k8s.Create(ctx, nsObj)).To(Succeed())
		ns := nsObj.Name

		// The Function existed before the controller was replaced.
		fn := &serverlessv1alpha2.Function{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fnName},
			Spec: serverlessv1alpha2.FunctionSpec{
				Runtime:  serverlessv1alpha2.RuntimeNodejs22,
				Replicas: ptr.To[int32](replicas),
				Source:   serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{Source: nodeSource, Dependencies: nodeDeps}},
			},
		}
		Expect(k8s.Create(ctx, fn)).To(Succeed())
		createLegacyObjects(ctx, fn)
		kept, dup := &appsv1.Deployment{}, &appsv1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: keptName}, kept)).To(Succeed())
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: duplicate}, dup)).To(Succeed())
			g.Expect(kept.Status.AvailableReplicas).To(Equal(int32(replicas)))
			g.Expect(dup.Status.AvailableReplicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Eventually(func(g Gomega) {
			job := &batchv1.Job{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: legacyJob}, job)).To(Succeed())
			g.Expect(job.Status.Succeeded).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		svc := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fnName}, svc)).To(Succeed())

		wctx, stop := context.WithCancel(ctx)
		defer stop()
		deps := &deploymentLog{last: map[string]*appsv1.Deployment{}, minAvailable: replicas}
		secrets := &secretLog{}
		watchEach(wctx, &appsv1.DeploymentList{}, deps.observe, client.InNamespace(ns))
		watchEach(wctx, &corev1.SecretList{}, secrets.observe, client.InNamespace(ns))
		Eventually(func() int { deps.mu.Lock(); defer deps.mu.Unlock(); return len(deps.last) }).Should(Equal(2))
		deps.mu.Lock()
		deps.watching = true
		deps.mu.Unlock()

		mark := h.Writes.Mark()
		Expect(h.StartController()).To(Succeed())

		// The Function runs on the kept Deployment, switched to buildless Pods.
		Eventually(func(g Gomega) {
			got := &serverlessv1alpha2.Function{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
			c := meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionRunning)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), c.Message)
			g.Expect(c.Message).To(ContainSubstring(keptName))
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, serverlessv1alpha2.ConditionBuildReady)).To(BeNil())
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())

		// The build leftovers are gone, and no second Deployment was made.
		Eventually(func(g Gomega) {
			for _, obj := range []client.Object{
				&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: duplicate}},
				&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: legacyJob}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: legacyConfig}},
				&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serverlessv1alpha2.FunctionServiceAccount}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: registryCopy}},
			} {
				err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, obj)
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s is deleted", obj, obj.GetName())
			}
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fnName}, &appsv1.Deployment{}))).To(BeTrue(),
			"no Deployment named after the Function")

		got := &serverlessv1alpha2.Function{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), got)).To(Succeed())
		after := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: keptName}, after)).To(Succeed())
		Expect(after.UID).To(Equal(kept.UID), "adopted in place")
		Expect(metav1.IsControlledBy(after, got)).To(BeTrue())
		pod := after.Spec.Template.Spec
		Expect(pod.Containers).To(HaveLen(1))
		Expect(pod.Containers[0].Name).To(Equal("function"))
		Expect(pod.Containers[0].Image).To(Equal(runtimeImage))
		Expect(pod.Containers[0].Command).NotTo(BeEmpty())
		Expect(pod.ServiceAccountName).NotTo(Equal(serverlessv1alpha2.FunctionServiceAccount), "the legacy ServiceAccount is no longer used")
		Expect(pod.DeprecatedServiceAccount).NotTo(Equal(serverlessv1alpha2.FunctionServiceAccount))
		Expect(pod.Volumes).NotTo(ContainElement(HaveField("Name", "legacy-tmp")), "the legacy Pod template's fields are gone")
		Expect(pod.Containers[0].Env).NotTo(ContainElement(HaveField("Name", "FUNC_HANDLER_SOURCE")))
		Expect(after.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
		Expect(*after.Spec.Replicas).To(Equal(int32(replicas)))

		afterSvc := &corev1.Service{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fnName}, afterSvc)).To(Succeed())
		Expect(afterSvc.UID).To(Equal(svc.UID), "the Service is adopted in place")
		Expect(metav1.IsControlledBy(afterSvc, got)).To(BeTrue())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fnName + "-source"}, &corev1.ConfigMap{})).To(Succeed())

		time.Sleep(2 * time.Second)
		written := h.Writes.Since(mark, "/namespaces/"+ns+"/")
		GinkgoWriter.Printf("writes by the controller to adopt and clean up the legacy Function: %d\n  %s\n", len(written), strings.Join(written, "\n  "))

		deps.mu.Lock()
		defer deps.mu.Unlock()
		GinkgoWriter.Printf("smallest number of available replicas of %s during the adoption: %d of %d\n", keptName, deps.minAvailable, replicas)
		Expect(deps.minAvailable).To(Equal(int32(replicas)), "the kept Deployment stays available")
		k := deps.keptStateAtDuplicateDeletion
		Expect(k).NotTo(BeNil(), "the duplicate's deletion was seen")
		Expect(k.Spec.Template.Spec.Containers[0].Image).To(Equal(runtimeImage), "the duplicate went after the kept one was switched")
		Expect(k.Status.ObservedGeneration).To(BeNumerically(">=", k.Generation))
		Expect(k.Status.UpdatedReplicas).To(Equal(int32(replicas)))
		Expect(k.Status.AvailableReplicas).To(Equal(int32(replicas)), "the duplicate went after the kept one was available")

		secrets.mu.Lock()
		defer secrets.mu.Unlock()
		Expect(secrets.deleted).To(BeTrue())
		Expect(secrets.finalizerRemovedSeen).To(BeTrue(), "the legacy finalizer was removed")
		Expect(secrets.deletingWithLegacy).To(BeFalse(), "the finalizer was removed before the deletion")
	})
})

// createLegacyObjects creates what Kyma's legacy controller left for a Function: the
// namespace's ServiceAccount and registry Secret copy (with the legacy finalizer), a build
// ConfigMap and Job, two Deployments with generated names, and the Service.
func createLegacyObjects(ctx context.Context, fn *serverlessv1alpha2.Function) {
	ns := fn.Namespace
	labels := map[string]string{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         string(fn.UID),
	}
	selector := maps.Clone(labels)
	selector[serverlessv1alpha2.LabelResource] = serverlessv1alpha2.ResourceDeployment
	owner := []metav1.OwnerReference{{
		APIVersion: serverlessv1alpha2.GroupVersion.String(), Kind: "Function", Name: fn.Name, UID: fn.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}

	Expect(k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: registryCopy,
			Labels:     map[string]string{serverlessv1alpha2.LabelConfig: "credentials"},
			Finalizers: []string{serverlessv1alpha2.FinalizerRegistryConfig},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{
			"username":          []byte("legacy"),
			"password":          []byte("legacy-password"),
			"registryAddress":   []byte("serverless-docker-registry.kyma-system.svc.cluster.local:5000"),
			"serverAddress":     []byte(pullAddress),
			"isInternal":        []byte("true"),
			".dockerconfigjson": []byte(`{"auths":{}}`),
		},
	})).To(Succeed())
	Expect(k8s.Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount, Labels: map[string]string{serverlessv1alpha2.LabelConfig: "service-account"}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: registryCopy}},
	})).To(Succeed())
	Expect(k8s.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: legacyConfig, Labels: labels, OwnerReferences: owner},
		Data:       map[string]string{"source": nodeSource, "dependencies": nodeDeps},
	})).To(Succeed())
	Expect(k8s.Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: legacyJob, Labels: labels, OwnerReferences: owner},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: serverlessv1alpha2.FunctionServiceAccount,
					Containers: []corev1.Container{{
						Name: "executor", Image: "gcr.io/kaniko-project/executor:v1.23.2",
						Args: []string{"--destination=" + legacyImage(ns)},
					}},
				},
			},
		},
	})).To(Succeed())
	for i, name := range []string{keptName, duplicate} {
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: selector},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: selector},
					Spec: corev1.PodSpec{
						ServiceAccountName: serverlessv1alpha2.FunctionServiceAccount,
						Containers: []corev1.Container{{
							Name: "function", Image: legacyImage(ns),
							Env:          []corev1.EnvVar{{Name: "FUNC_HANDLER_SOURCE", Value: "legacy"}},
							Ports:        []corev1.ContainerPort{{ContainerPort: 8080}},
							VolumeMounts: []corev1.VolumeMount{{Name: "legacy-tmp", MountPath: "/tmp"}},
						}},
						Volumes: []corev1.Volume{{Name: "legacy-tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
					},
				},
			},
		}
		if i == 0 {
			// the kept one is the Function's and runs the Function's replicas
			dep.OwnerReferences = owner
			dep.Spec.Replicas = ptr.To[int32](replicas)
		}
		Expect(k8s.Create(ctx, dep)).To(Succeed())
		if i == 0 {
			time.Sleep(1100 * time.Millisecond) // a younger duplicate
		}
	}
	Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fn.Name, Labels: labels, OwnerReferences: owner},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	})).To(Succeed())
}

func legacyImage(ns string) string {
	return fmt.Sprintf("%s/%s-%s:%s", pullAddress, ns, fnName, legacyHash)
}

// watchEach calls handle for every event of the objects list selects until ctx ends, and
// watches again when the API server ends a watch.
func watchEach(ctx context.Context, list client.ObjectList, handle func(watch.Event), opts ...client.ListOption) {
	wc, err := client.NewWithWatch(h.Cluster.RESTConfig(), client.Options{Scheme: k8s.Scheme()})
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		for ctx.Err() == nil {
			w, err := wc.Watch(ctx, list, opts...)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				if ev.Type != watch.Error && ev.Type != watch.Bookmark {
					handle(ev)
				}
			}
			w.Stop()
		}
	}()
}
