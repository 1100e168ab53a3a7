package function

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/workload"
)

func candidate(name string, age time.Duration, available bool) appsv1.Deployment {
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Name:              name,
		CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0).Add(-age)),
	}}
	status := corev1.ConditionFalse
	if available {
		status = corev1.ConditionTrue
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: status}}
	return d
}

func TestCompareCandidates(t *testing.T) {
	for name, tc := range map[string]struct {
		candidates []appsv1.Deployment
		previous   string
		kept       string
	}{
		"available before unavailable": {
			[]appsv1.Deployment{candidate("fn-old", time.Hour, false), candidate("fn-new", time.Minute, true)}, "", "fn-new"},
		"then the oldest": {
			[]appsv1.Deployment{candidate("fn-new", time.Minute, true), candidate("fn-old", time.Hour, true)}, "", "fn-old"},
		"then by name": {
			[]appsv1.Deployment{candidate("fn-b", time.Hour, true), candidate("fn-a", time.Hour, true)}, "", "fn-a"},
		"the one kept before stays kept": {
			[]appsv1.Deployment{candidate("fn-old", time.Hour, true), candidate("fn-new", time.Minute, false)}, "fn-new", "fn-new"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			c := slices.Clone(tc.candidates)
			slices.SortStableFunc(c, func(a, b appsv1.Deployment) int { return compareCandidates(&a, &b, tc.previous) })
			g.Expect(c[0].Name).To(Equal(tc.kept))
		})
	}
}

func TestInProgress(t *testing.T) {
	cond := func(status metav1.ConditionStatus) *metav1.Condition { return &metav1.Condition{Status: status} }
	for name, tc := range map[string]struct {
		s    scope
		want bool
	}{
		"nothing":              {scope{}, false},
		"rolling out":          {scope{configured: cond(metav1.ConditionTrue), running: cond(metav1.ConditionUnknown)}, true},
		"building":             {scope{configured: cond(metav1.ConditionTrue), buildReady: cond(metav1.ConditionUnknown)}, true},
		"running":              {scope{configured: cond(metav1.ConditionTrue), buildReady: cond(metav1.ConditionTrue), running: cond(metav1.ConditionTrue)}, false},
		"failed build":         {scope{buildReady: cond(metav1.ConditionFalse), running: cond(metav1.ConditionUnknown)}, false},
		"waiting for a slot":   {scope{buildReady: cond(metav1.ConditionFalse)}, false},
		"failed configuration": {scope{configured: cond(metav1.ConditionFalse), running: cond(metav1.ConditionUnknown)}, false},
	} {
		t.Run(name, func(t *testing.T) {
			NewWithT(t).Expect(tc.s.inProgress()).To(Equal(tc.want))
		})
	}
}

func TestStatusDropsBuildReady(t *testing.T) {
	g := NewWithT(t)
	fn := &serverlessv1alpha2.Function{ObjectMeta: metav1.ObjectMeta{Name: "fn", Generation: 4}}
	base := serverlessv1alpha2.FunctionStatus{Conditions: []metav1.Condition{
		{Type: serverlessv1alpha2.ConditionBuildReady, Status: metav1.ConditionTrue, Reason: serverlessv1alpha2.ReasonJobFinished},
		{Type: serverlessv1alpha2.ConditionRunning, Status: metav1.ConditionTrue, Reason: serverlessv1alpha2.ReasonDeploymentReady},
	}}
	s := &scope{fn: fn}
	s.setBuildReady(metav1.ConditionUnknown, serverlessv1alpha2.ReasonJobRunning, "building")
	st := s.status(&base)
	c := meta.FindStatusCondition(st.Conditions, serverlessv1alpha2.ConditionBuildReady)
	g.Expect(c.Reason).To(Equal(serverlessv1alpha2.ReasonJobRunning))
	g.Expect(c.ObservedGeneration).To(Equal(int64(4)))

	s = &scope{fn: fn, dropBuildReady: true}
	st = s.status(&base)
	g.Expect(meta.FindStatusCondition(st.Conditions, serverlessv1alpha2.ConditionBuildReady)).To(BeNil())
	g.Expect(meta.FindStatusCondition(st.Conditions, serverlessv1alpha2.ConditionRunning)).NotTo(BeNil())
}

func TestRunsImage(t *testing.T) {
	g := NewWithT(t)
	d := &appsv1.Deployment{}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "sidecar", Image: "a"}, {Name: workload.FunctionContainer, Image: "r/ns-fn:1"}}
	g.Expect(runsImage(d, "r/ns-fn:1")).To(BeTrue())
	g.Expect(runsImage(d, "r/ns-fn:2")).To(BeFalse())
	g.Expect(runsImage(d, "")).To(BeFalse())
	g.Expect(runsImage(nil, "r/ns-fn:1")).To(BeFalse())
}

func TestPodSecurityRefusal(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Namespace: "team", Name: "fn-build-85f0b35914fbff29", UID: "job-uid",
		CreationTimestamp: metav1.NewTime(now.Add(-time.Minute)),
	}}
	refusal := `Error creating: pods "fn-build-85f0b35914fbff29-x7k2p" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`
	event := func(name, object string, uid types.UID, msg string) *corev1.Event {
		return &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: "team", Name: name},
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: object, UID: uid},
			Reason:         "FailedCreate", Message: msg, LastTimestamp: metav1.NewTime(now),
		}
	}
	scheme, err := NewScheme()
	g.Expect(err).NotTo(HaveOccurred())
	reader := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&corev1.Event{}, "involvedObject.kind", func(o client.Object) []string { return []string{o.(*corev1.Event).InvolvedObject.Kind} }).
		WithIndex(&corev1.Event{}, "involvedObject.name", func(o client.Object) []string { return []string{o.(*corev1.Event).InvolvedObject.Name} }).
		WithObjects(
			event("other-job", "other", "other-uid", refusal),
			event("earlier-job", job.Name, "earlier-uid", refusal),
		).Build()
	r := &Reconciler{APIReader: reader, Now: func() time.Time { return now }}

	msg, err := r.podSecurityRefusal(ctx, job)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(msg).To(BeEmpty(), "Events of other Jobs, or of an earlier Job of that name, do not count")

	g.Expect(reader.Create(ctx, event("this-job", job.Name, job.UID, refusal))).To(Succeed())
	msg, err = r.podSecurityRefusal(ctx, job)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(msg).To(Equal(refusal))

	started := job.DeepCopy()
	started.Status.Active = 1
	g.Expect(r.podSecurityRefusal(ctx, started)).To(BeEmpty(), "a Job with a Pod was not refused")
	young := job.DeepCopy()
	young.CreationTimestamp = metav1.NewTime(now.Add(-time.Second))
	g.Expect(r.podSecurityRefusal(ctx, young)).To(BeEmpty(), "a new Job gets time to create its Pod")
}
