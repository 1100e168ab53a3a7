package function

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/runtime"
	"github.com/kyma-serverless/serverless/internal/workload"
)

func deployment(hash string, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fn", Generation: 3, Annotations: map[string]string{workload.HashAnnotation: hash}},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, ReadyReplicas: 2,
		},
	}
	if mutate != nil {
		mutate(d)
	}
	return d
}

func TestDeploymentRunning(t *testing.T) {
	for name, tc := range map[string]struct {
		dep    *appsv1.Deployment
		status metav1.ConditionStatus
		reason string
	}{
		"missing":    {nil, metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting},
		"available":  {deployment("h", nil), metav1.ConditionTrue, serverlessv1alpha2.ReasonDeploymentReady},
		"other hash": {deployment("old", nil), metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting},
		"not observed": {deployment("h", func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 2 }),
			metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting},
		"old Pod left": {deployment("h", func(d *appsv1.Deployment) { d.Status.Replicas = 3 }),
			metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting},
		"one unavailable": {deployment("h", func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 1
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse}}
		}), metav1.ConditionUnknown, serverlessv1alpha2.ReasonMinReplicasUnavailable},
		"pods refused": {deployment("h", func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 0
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Message: "violates PodSecurity"}}
		}), metav1.ConditionFalse, serverlessv1alpha2.ReasonDeploymentFailed},
		"deadline": {deployment("h", func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 0
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}
		}), metav1.ConditionFalse, serverlessv1alpha2.ReasonDeploymentFailed},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			status, reason, msg := deploymentRunning(tc.dep, "h")
			g.Expect(status).To(Equal(tc.status))
			g.Expect(reason).To(Equal(tc.reason))
			g.Expect(msg).NotTo(BeEmpty())
		})
	}
}

func TestConfigSource(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	scheme, err := NewScheme()
	g.Expect(err).NotTo(HaveOccurred())
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	src := NewConfigSource(c, "kyma-system", functionconfig.ConfigMapName)

	_, err = src.Current(ctx)
	ce, ok := AsConfigError(err)
	g.Expect(ok).To(BeTrue())
	g.Expect(ce.Missing).To(BeTrue())
	g.Expect(err.Error()).To(ContainSubstring("kyma-system/serverless-function-config was not found"))

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kyma-system", Name: functionconfig.ConfigMapName},
		Data: map[string]string{functionconfig.ConfigMapKey: "mode: sideways\n"}}
	g.Expect(c.Create(ctx, cm)).To(Succeed())
	_, err = src.Current(ctx)
	ce, ok = AsConfigError(err)
	g.Expect(ok).To(BeTrue())
	g.Expect(ce.Missing).To(BeFalse())
	g.Expect(err.Error()).To(ContainSubstring(`mode: must be "buildless" or "build"`))

	cm.Data[functionconfig.ConfigMapKey] = `
gitFetcherImage: fetcher:1
runtimeImages: {nodejs20: n20, nodejs22: n22, nodejs24: n24, python312: p312}
`
	g.Expect(c.Update(ctx, cm)).To(Succeed())
	cfg, err := src.Current(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.RuntimeImages["nodejs22"]).To(Equal("n22"))
	again, err := src.Current(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again).To(BeIdenticalTo(cfg), "an unchanged ConfigMap is parsed once")
}

func TestDeprecationNote(t *testing.T) {
	g := NewWithT(t)
	rt, _ := runtime.Lookup("nodejs20")
	g.Expect(deprecationNote(rt)).To(Equal("runtime nodejs20 is deprecated: move the Function to nodejs22 or nodejs24"))
}

func TestBelongsTo(t *testing.T) {
	g := NewWithT(t)
	fn := &serverlessv1alpha2.Function{ObjectMeta: metav1.ObjectMeta{Name: "fn", UID: "u1"}}
	yes := true
	owned := &corev1.Service{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{UID: "u1", Controller: &yes}}}}
	other := &corev1.Service{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{UID: "u2", Controller: &yes}}}}
	legacy := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{serverlessv1alpha2.LabelUUID: "u1"}}}
	foreign := &corev1.Service{}
	g.Expect(belongsTo(owned, fn)).To(BeTrue())
	g.Expect(belongsTo(other, fn)).To(BeFalse())
	g.Expect(belongsTo(legacy, fn)).To(BeTrue())
	g.Expect(belongsTo(foreign, fn)).To(BeFalse())
}

func TestRollingOut(t *testing.T) {
	for name, tc := range map[string]struct {
		dep  *appsv1.Deployment
		want bool
	}{
		"rolled out":            {deployment("h", nil), false},
		"generation not seen":   {deployment("h", func(d *appsv1.Deployment) { d.Generation = 4 }), true},
		"new replicas missing":  {deployment("h", func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }), true},
		"old replicas left":     {deployment("h", func(d *appsv1.Deployment) { d.Status.Replicas = 3 }), true},
		"a replica unavailable": {deployment("h", func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 1 }), false},
		"progress deadline exceeded": {deployment("h", func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas = 0
			d.Status.Conditions = []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
			}}
		}), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := rollingOut(tc.dep); got != tc.want {
				t.Fatalf("rollingOut = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWaitList(t *testing.T) {
	g := NewWithT(t)
	var w waitList
	a := types.NamespacedName{Namespace: "ns1", Name: "a"}
	b := types.NamespacedName{Namespace: "ns1", Name: "b"}
	c := types.NamespacedName{Namespace: "ns2", Name: "c"}
	g.Expect(w.has("ns1")).To(BeFalse())
	w.add(a)
	w.add(b)
	w.add(c)
	w.add(a)
	w.remove(c)
	g.Expect(w.has("ns2")).To(BeFalse())
	g.Expect(w.take("ns1")).To(ConsistOf(a, b))
	g.Expect(w.has("ns1")).To(BeFalse())
	g.Expect(w.take("ns1")).To(BeEmpty())
}
