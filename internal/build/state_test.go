package build

import (
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func jobWith(status batchv1.JobStatus) *batchv1.Job {
	return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "orders-build-abc"}, Status: status}
}

func cond(t batchv1.JobConditionType, s corev1.ConditionStatus, reason, msg string) batchv1.JobCondition {
	return batchv1.JobCondition{Type: t, Status: s, Reason: reason, Message: msg}
}

func TestJobState(t *testing.T) {
	cases := []struct {
		name     string
		job      *batchv1.Job
		state    State
		message  string
		finished bool
	}{
		{name: "no Job yet", job: nil, state: StateRunning, message: "waiting for the build Job to be created"},
		{name: "new Job", job: jobWith(batchv1.JobStatus{}), state: StateRunning, message: "build Job orders-build-abc is waiting for its Pod"},
		{name: "Pod starting", job: jobWith(batchv1.JobStatus{Active: 1, Ready: ptr.To[int32](0)}), state: StateRunning,
			message: "build Job orders-build-abc is starting"},
		{name: "Pod running", job: jobWith(batchv1.JobStatus{Active: 1, Ready: ptr.To[int32](1)}), state: StateRunning,
			message: "build Job orders-build-abc is running"},
		{name: "retrying", job: jobWith(batchv1.JobStatus{Failed: 1}), state: StateRunning,
			message: "build Job orders-build-abc is retrying after 1 failed attempt(s)"},
		{name: "complete", job: jobWith(batchv1.JobStatus{Succeeded: 1, Conditions: []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", ""),
			cond(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached", "Reached expected number of succeeded pods"),
		}}), state: StateSucceeded, message: "build Job orders-build-abc finished: the image is built", finished: true},
		{name: "success decided, Pod terminating", job: jobWith(batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached", ""),
		}}), state: StateSucceeded, message: "build Job orders-build-abc finished: the image is built"},
		{name: "backoff limit", job: jobWith(batchv1.JobStatus{Failed: 2, Conditions: []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			cond(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
		}}), state: StateFailed, finished: true,
			message: "build Job orders-build-abc failed: Job has reached the specified backoff limit (BackoffLimitExceeded); see the logs of its Pods"},
		{name: "deadline, Pod terminating", job: jobWith(batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "DeadlineExceeded", "Job was active longer than specified deadline"),
		}}), state: StateFailed,
			message: "build Job orders-build-abc failed: Job was active longer than specified deadline (DeadlineExceeded); see the logs of its Pods"},
		{name: "failed without a message", job: jobWith(batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			cond(batchv1.JobFailed, corev1.ConditionTrue, "PodFailurePolicy", ""),
		}}), state: StateFailed, finished: true, message: "build Job orders-build-abc failed: PodFailurePolicy; see the logs of its Pods"},
		{name: "false conditions are ignored", job: jobWith(batchv1.JobStatus{Active: 1, Conditions: []batchv1.JobCondition{
			cond(batchv1.JobFailed, corev1.ConditionFalse, "", ""),
			cond(batchv1.JobComplete, corev1.ConditionFalse, "", ""),
			cond(batchv1.JobSuspended, corev1.ConditionTrue, "", ""),
		}}), state: StateRunning, message: "build Job orders-build-abc is starting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			state, msg := JobState(c.job)
			g.Expect(state).To(Equal(c.state))
			g.Expect(msg).To(Equal(c.message))
			if c.job != nil {
				g.Expect(IsJobFinished(c.job)).To(Equal(c.finished))
			}
		})
	}
}
