package serverless

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/installer"
)

const (
	controllerDeployment = "serverless-function-controller"
	functionConfigMap    = "serverless-function-config"
	buildServiceAccount  = "serverless-function"
	dockerfileConfigMap  = "dockerfile-nodejs22"
	timeout              = 2 * time.Minute
	poll                 = 200 * time.Millisecond
)

var _ = Describe("Serverless operator", Ordered, func() {
	var cr *operatorv1alpha1.Serverless

	BeforeAll(func(ctx SpecContext) {
		// Kyma's Telemetry module would provide this Service; the operator finds it.
		traces := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "telemetry-otlp-traces", Namespace: moduleNamespace},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 4318}}},
		}
		Expect(k8s.Create(ctx, traces)).To(Succeed())
		cr = &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: moduleNamespace}}
		Expect(k8s.Create(ctx, cr)).To(Succeed())
	})

	It("installs the default CR until Ready with every condition True", func(ctx SpecContext) {
		got := waitForState(ctx, cr, operatorv1alpha1.StateReady)
		Expect(got.Status.Served).To(Equal(operatorv1alpha1.ServedTrue))
		for _, t := range []string{operatorv1alpha1.ConditionConfigured, operatorv1alpha1.ConditionInstalled} {
			c := meta.FindStatusCondition(got.Status.Conditions, t)
			Expect(c).NotTo(BeNil(), t)
			Expect(c.Status).To(Equal(metav1.ConditionTrue), t)
			Expect(c.ObservedGeneration).To(Equal(got.Generation), t)
		}
		Expect(got.Finalizers).To(ContainElement(operatorv1alpha1.Finalizer))
		Expect(got.Status.BuildlessMode).To(Equal(operatorv1alpha1.BuildlessModeEnabled))
		Expect(got.Status.LogLevel).To(Equal("info"))
		Expect(got.Status.ChartVersion).NotTo(BeEmpty())
		Expect(got.Status.TracingEndpoint).To(Equal("http://telemetry-otlp-traces.kyma-system.svc.cluster.local:4318/v1/traces"))
		Expect(readConfig(ctx).TracingEndpoint).To(Equal(got.Status.TracingEndpoint))
		expectMetrics(got)

		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, key(controllerDeployment), dep)).To(Succeed())
		Expect(deploymentAvailable(dep)).To(BeTrue())
		Expect(dep.Labels).To(HaveKeyWithValue(installer.ModuleLabel, "serverless"))
		Expect(mode(ctx)).To(Equal("buildless"))
		Expect(k8s.Get(ctx, key(dockerfileConfigMap), &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
	})

	It("changes the controller configuration when logLevel changes", func(ctx SpecContext) {
		update(ctx, cr, func(s *operatorv1alpha1.Serverless) { s.Spec.LogLevel = "debug" })
		Eventually(func(g Gomega) {
			g.Expect(readConfig(ctx).LogLevel).To(Equal("debug"))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		waitForState(ctx, cr, operatorv1alpha1.StateReady, func(g Gomega, s *operatorv1alpha1.Serverless) {
			g.Expect(s.Status.LogLevel).To(Equal("debug"))
		})
	})

	It("adds the build-mode parts when buildless is disabled and prunes them when it is enabled again", func(ctx SpecContext) {
		setAnnotation(ctx, cr, operatorv1alpha1.BuildlessModeDisabled)
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key(dockerfileConfigMap), &corev1.ConfigMap{})).To(Succeed())
			g.Expect(k8s.Get(ctx, key(buildServiceAccount), &corev1.ServiceAccount{})).To(Succeed())
			g.Expect(mode(ctx)).To(Equal("build"))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		waitForState(ctx, cr, operatorv1alpha1.StateReady, buildlessMode(operatorv1alpha1.BuildlessModeDisabled))

		setAnnotation(ctx, cr, operatorv1alpha1.BuildlessModeEnabled)
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key(dockerfileConfigMap), &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
			g.Expect(k8s.Get(ctx, key(buildServiceAccount), &corev1.ServiceAccount{})).To(Satisfy(apierrors.IsNotFound))
			g.Expect(mode(ctx)).To(Equal("buildless"))
		}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
		waitForState(ctx, cr, operatorv1alpha1.StateReady, buildlessMode(operatorv1alpha1.BuildlessModeEnabled))
	})

	It("keeps the mode and reports Warning on a typo in the annotation", func(ctx SpecContext) {
		setAnnotation(ctx, cr, "disbled")
		got := waitForState(ctx, cr, operatorv1alpha1.StateWarning)
		c := meta.FindStatusCondition(got.Status.Conditions, operatorv1alpha1.ConditionConfigured)
		Expect(c.Reason).To(Equal(operatorv1alpha1.ReasonInvalidBuildlessMode))
		Expect(c.Message).To(And(ContainSubstring(`"disbled"`), ContainSubstring(`"enabled"`), ContainSubstring(`"disabled"`)))
		Expect(got.Status.BuildlessMode).To(Equal(operatorv1alpha1.BuildlessModeEnabled))
		Consistently(func(g Gomega) {
			g.Expect(mode(ctx)).To(Equal("buildless"))
			g.Expect(k8s.Get(ctx, key(dockerfileConfigMap), &corev1.ConfigMap{})).To(Satisfy(apierrors.IsNotFound))
		}).WithContext(ctx).WithTimeout(3 * time.Second).WithPolling(poll).Should(Succeed())
		expectEvent(ctx, got, operatorv1alpha1.ReasonInvalidBuildlessMode)

		setAnnotation(ctx, cr, operatorv1alpha1.BuildlessModeEnabled)
		waitForState(ctx, cr, operatorv1alpha1.StateReady, func(g Gomega, s *operatorv1alpha1.Serverless) {
			c := meta.FindStatusCondition(s.Status.Conditions, operatorv1alpha1.ConditionConfigured)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		})
	})

	It("restores a deleted managed Deployment within seconds", func(ctx SpecContext) {
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, key(controllerDeployment), dep)).To(Succeed())
		oldUID := dep.UID
		Expect(k8s.Delete(ctx, dep)).To(Succeed())
		start := time.Now()
		Eventually(func(g Gomega) {
			got := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, key(controllerDeployment), got)).To(Succeed())
			g.Expect(got.UID).NotTo(Equal(oldUID))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("deleted Deployment restored after %s\n", time.Since(start))
		waitForState(ctx, cr, operatorv1alpha1.StateReady)
	})

	It("restores a hand-edited image within seconds", func(ctx SpecContext) {
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, key(controllerDeployment), dep)).To(Succeed())
		want := dep.Spec.Template.Spec.Containers[0].Image
		patch := client.MergeFrom(dep.DeepCopy())
		dep.Spec.Template.Spec.Containers[0].Image = "example.invalid/hijacked:1"
		Expect(k8s.Patch(ctx, dep, patch, client.FieldOwner("kubectl-edit"))).To(Succeed())
		start := time.Now()
		Eventually(func(g Gomega) {
			got := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, key(controllerDeployment), got)).To(Succeed())
			g.Expect(got.Spec.Template.Spec.Containers[0].Image).To(Equal(want))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("edited image restored after %s\n", time.Since(start))
	})

	It("does not serve a second Serverless CR", func(ctx SpecContext) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "second-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		second := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
		Expect(k8s.Create(ctx, second)).To(Succeed())
		got := waitForState(ctx, second, operatorv1alpha1.StateWarning)
		Expect(got.Status.Served).To(Equal(operatorv1alpha1.ServedFalse))
		c := meta.FindStatusCondition(got.Status.Conditions, operatorv1alpha1.ConditionConfigured)
		Expect(c.Reason).To(Equal(operatorv1alpha1.ReasonDuplicated))
		Expect(c.Message).To(ContainSubstring(moduleNamespace + "/default"))
		Expect(got.Finalizers).To(BeEmpty())

		Expect(k8s.Delete(ctx, second)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(second), &operatorv1alpha1.Serverless{}))
		}).WithContext(ctx).WithTimeout(timeout).Should(BeTrue())
		Expect(k8s.Delete(ctx, ns)).To(Succeed())
		waitForState(ctx, cr, operatorv1alpha1.StateReady)
	})

	It("blocks deletion while a Function exists and completes it once the Function is gone", func(ctx SpecContext) {
		fnNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "fn-"}}
		Expect(k8s.Create(ctx, fnNS)).To(Succeed())
		fn := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "serverless.kyma-project.io/v1alpha2",
			"kind":       "Function",
			"metadata":   map[string]any{"name": "keep-me", "namespace": fnNS.Name},
			"spec": map[string]any{
				"runtime": "nodejs22",
				"source":  map[string]any{"inline": map[string]any{"source": "module.exports = { main: () => 'hi' }"}},
			},
		}}
		Expect(k8s.Create(ctx, fn)).To(Succeed())

		Expect(k8s.Delete(ctx, cr)).To(Succeed())
		got := waitForState(ctx, cr, operatorv1alpha1.StateWarning)
		c := meta.FindStatusCondition(got.Status.Conditions, operatorv1alpha1.ConditionDeleted)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal(operatorv1alpha1.ReasonDeletionBlocked))
		Expect(c.Message).To(And(ContainSubstring("1 Function"), ContainSubstring(fnNS.Name)))
		Consistently(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key(controllerDeployment), &appsv1.Deployment{})).To(Succeed())
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())

		Expect(k8s.Delete(ctx, fn)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(cr), &operatorv1alpha1.Serverless{}))
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(BeTrue())

		expectNoManagedObjects(ctx)
	})

	It("hands the module over to another Serverless CR when the served one is deleted", func(ctx SpecContext) {
		first := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: moduleNamespace}}
		Expect(k8s.Create(ctx, first)).To(Succeed())
		waitForState(ctx, first, operatorv1alpha1.StateReady)

		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "standby-"}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		standby := &operatorv1alpha1.Serverless{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
		Expect(k8s.Create(ctx, standby)).To(Succeed())
		waitForState(ctx, standby, operatorv1alpha1.StateWarning)

		Expect(k8s.Delete(ctx, first)).To(Succeed())
		got := waitForState(ctx, standby, operatorv1alpha1.StateReady)
		Expect(got.Status.Served).To(Equal(operatorv1alpha1.ServedTrue))
		Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(first), &operatorv1alpha1.Serverless{}))).To(BeTrue())
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: controllerDeployment}, dep)).To(Succeed())

		Expect(k8s.Delete(ctx, standby)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(standby), &operatorv1alpha1.Serverless{}))
		}).WithContext(ctx).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(BeTrue())
		expectNoManagedObjects(ctx)
	})
})

var managedKinds = []schema.GroupVersionKind{
	{Group: "apps", Version: "v1", Kind: "DeploymentList"},
	{Version: "v1", Kind: "ConfigMapList"},
	{Version: "v1", Kind: "ServiceAccountList"},
	{Version: "v1", Kind: "ServiceList"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleList"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBindingList"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicyList"},
	{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClassList"},
	{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinitionList"},
}

// expectNoManagedObjects checks that no object carrying the module label and
// no Function CRD is left.
func expectNoManagedObjects(ctx context.Context) {
	GinkgoHelper()
	for _, gvk := range managedKinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk)
		err := k8s.List(ctx, list, client.MatchingLabels{installer.ModuleLabel: "serverless"})
		if meta.IsNoMatchError(err) {
			continue
		}
		Expect(err).NotTo(HaveOccurred(), gvk.String())
		Expect(list.Items).To(BeEmpty(), fmt.Sprintf("%s left behind", gvk.Kind))
	}
	Expect(k8s.Get(ctx, client.ObjectKey{Name: "functions.serverless.kyma-project.io"}, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
	}})).To(Satisfy(apierrors.IsNotFound))
}

func key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: moduleNamespace, Name: name}
}

// waitForState waits for the state; extra checks must hold at the same time
// (an annotation change does not bump the generation, so a state alone can be stale).
func waitForState(ctx context.Context, cr *operatorv1alpha1.Serverless, state string, extra ...func(Gomega, *operatorv1alpha1.Serverless)) *operatorv1alpha1.Serverless {
	GinkgoHelper()
	got := &operatorv1alpha1.Serverless{}
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), got)).To(Succeed())
		g.Expect(got.Status.State).To(Equal(state), "conditions: %+v", got.Status.Conditions)
		for _, check := range extra {
			check(g, got)
		}
		if state == operatorv1alpha1.StateReady {
			c := meta.FindStatusCondition(got.Status.Conditions, operatorv1alpha1.ConditionInstalled)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		}
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	return got
}

func buildlessMode(mode string) func(Gomega, *operatorv1alpha1.Serverless) {
	return func(g Gomega, s *operatorv1alpha1.Serverless) {
		g.Expect(s.Status.BuildlessMode).To(Equal(mode))
	}
}

func update(ctx context.Context, cr *operatorv1alpha1.Serverless, mutate func(*operatorv1alpha1.Serverless)) {
	GinkgoHelper()
	Eventually(func() error {
		got := &operatorv1alpha1.Serverless{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), got); err != nil {
			return err
		}
		mutate(got)
		return k8s.Update(ctx, got)
	}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
}

func setAnnotation(ctx context.Context, cr *operatorv1alpha1.Serverless, value string) {
	GinkgoHelper()
	update(ctx, cr, func(s *operatorv1alpha1.Serverless) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[operatorv1alpha1.BuildlessModeAnnotation] = value
	})
}

func readConfig(ctx context.Context) *functionconfig.Config {
	GinkgoHelper()
	cm := &corev1.ConfigMap{}
	Expect(k8s.Get(ctx, key(functionConfigMap), cm)).To(Succeed())
	cfg, err := functionconfig.Parse([]byte(cm.Data["config.yaml"]))
	Expect(err).NotTo(HaveOccurred())
	return cfg
}

func mode(ctx context.Context) string {
	GinkgoHelper()
	return string(readConfig(ctx).Mode)
}

func deploymentAvailable(dep *appsv1.Deployment) bool {
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return dep.Status.AvailableReplicas == *dep.Spec.Replicas
		}
	}
	return false
}

// expectMetrics reads the operator's Prometheus registry (it runs in this
// process): one install was timed and the state gauge says Ready.
func expectMetrics(cr *operatorv1alpha1.Serverless) {
	GinkgoHelper()
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	found := map[string]bool{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "serverless_operator_install_duration_seconds":
				if labels["operation"] == "install" && m.GetHistogram().GetSampleCount() >= 1 {
					found[f.GetName()] = true
				}
			case "serverless_operator_state":
				if labels["name"] == cr.Name && labels["state"] == operatorv1alpha1.StateReady && m.GetGauge().GetValue() == 1 {
					found[f.GetName()] = true
				}
			case "serverless_operator_reconcile_outcomes_total":
				if labels["outcome"] == "success" && m.GetCounter().GetValue() >= 1 {
					found[f.GetName()] = true
				}
			}
		}
	}
	Expect(found).To(HaveLen(3), "metrics found: %v", found)
}

func expectEvent(ctx context.Context, obj client.Object, reason string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		events := &corev1.EventList{}
		g.Expect(k8s.List(ctx, events, client.InNamespace(obj.GetNamespace()))).To(Succeed())
		found := false
		for _, e := range events.Items {
			if e.InvolvedObject.UID == obj.GetUID() && e.Reason == reason {
				found = true
			}
		}
		g.Expect(found).To(BeTrue(), "no Event with reason %s", reason)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(poll).Should(Succeed())
}
