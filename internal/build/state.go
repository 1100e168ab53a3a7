package build

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// State is the state of a build Job.
type State string

const (
	// StateRunning: the build has not ended yet (including a Pod that waits to start).
	StateRunning State = "Running"
	// StateSucceeded: the image was built and pushed.
	StateSucceeded State = "Succeeded"
	// StateFailed: the build failed and will not be retried by the Job.
	StateFailed State = "Failed"
)

// JobState is the state of a build Job, from its conditions, and a message for the
// Function's BuildReady condition. A Job is Succeeded once it is Complete (or met its
// success criteria), and Failed once it is Failed or its failure is decided
// (FailureTarget, while its Pods are still terminating); the message then carries the
// Job's own reason and message, for example the backoff limit or the deadline. Every
// other Job is Running. A nil Job is Running: its creation is still pending.
func JobState(job *batchv1.Job) (State, string) {
	if job == nil {
		return StateRunning, "waiting for the build Job to be created"
	}
	if c, ok := trueCondition(job, batchv1.JobFailed, batchv1.JobFailureTarget); ok {
		msg := fmt.Sprintf("build Job %s failed", job.Name)
		if detail := conditionText(c); detail != "" {
			msg += ": " + detail
		}
		return StateFailed, msg + "; see the logs of its Pods"
	}
	if _, ok := trueCondition(job, batchv1.JobComplete, batchv1.JobSuccessCriteriaMet); ok {
		return StateSucceeded, fmt.Sprintf("build Job %s finished: the image is built", job.Name)
	}
	switch {
	case job.Status.Active > 0 && job.Status.Ready != nil && *job.Status.Ready > 0:
		return StateRunning, fmt.Sprintf("build Job %s is running", job.Name)
	case job.Status.Failed > 0:
		return StateRunning, fmt.Sprintf("build Job %s is retrying after %d failed attempt(s)", job.Name, job.Status.Failed)
	case job.Status.Active > 0:
		return StateRunning, fmt.Sprintf("build Job %s is starting", job.Name)
	default:
		return StateRunning, fmt.Sprintf("build Job %s is waiting for its Pod", job.Name)
	}
}

// IsJobFinished reports whether a Job has ended: Complete or Failed. Pods of a Job whose
// outcome is decided but not yet final (SuccessCriteriaMet, FailureTarget) may still run.
func IsJobFinished(job *batchv1.Job) bool {
	_, ok := trueCondition(job, batchv1.JobComplete, batchv1.JobFailed)
	return ok
}

func trueCondition(job *batchv1.Job, types ...batchv1.JobConditionType) (batchv1.JobCondition, bool) {
	for _, t := range types {
		for _, c := range job.Status.Conditions {
			if c.Type == t && c.Status == corev1.ConditionTrue {
				return c, true
			}
		}
	}
	return batchv1.JobCondition{}, false
}

func conditionText(c batchv1.JobCondition) string {
	msg := strings.TrimSpace(c.Message)
	switch {
	case msg != "" && c.Reason != "":
		return msg + " (" + c.Reason + ")"
	case msg != "":
		return msg
	default:
		return c.Reason
	}
}
