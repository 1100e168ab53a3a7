package build

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Pod Security admission.
const (
	// LabelPodSecurityEnforce is the namespace label that sets the enforced Pod Security level.
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
	// PodSecurityRestricted is the level build Pods cannot meet.
	PodSecurityRestricted = "restricted"
)

// MessageRestrictedNamespace is the Function status message when build Pods cannot run in
// its namespace.
const MessageRestrictedNamespace = "Build Pods cannot run in this namespace: it enforces the restricted Pod Security " +
	"Standard (label pod-security.kubernetes.io/enforce=restricted), and the image builder must run as root. " +
	"Use buildless mode (annotation serverless.kyma-project.io/buildless-mode: enabled on the Serverless resource, " +
	"the default), which runs Functions under the restricted standard, or move the Function to a namespace that " +
	"enforces at most the baseline standard."

// podSecurityViolation is how the API server starts its reason for refusing a Pod.
const podSecurityViolation = "violates PodSecurity"

// RestrictedNamespace reports whether a namespace enforces the restricted Pod Security
// Standard through its label, so that build Pods would be refused there. A cluster-wide
// default set in the admission configuration does not show on the namespace; the refusal
// then appears in the Job's Events (PodSecurityRefusal).
func RestrictedNamespace(ns *corev1.Namespace) bool {
	if ns == nil {
		return false
	}
	return strings.TrimSpace(ns.Labels[LabelPodSecurityEnforce]) == PodSecurityRestricted
}

// IsPodSecurityRefusal reports whether a message is Pod Security admission refusing a
// Pod, as in the FailedCreate Event of a Job whose Pod was refused:
// `pods "..." is forbidden: violates PodSecurity "restricted:latest": ...`.
func IsPodSecurityRefusal(message string) bool {
	return strings.Contains(message, podSecurityViolation)
}

// PodSecurityRefusal returns the message of the latest Event that reports Pod Security
// admission refusing a Pod, among the Events of one build Job, and whether there is one.
func PodSecurityRefusal(events []corev1.Event) (string, bool) {
	var (
		latest  *corev1.Event
		latestT int64
	)
	for i := range events {
		e := &events[i]
		if !IsPodSecurityRefusal(e.Message) {
			continue
		}
		t := eventTime(e)
		if latest == nil || t >= latestT {
			latest, latestT = e, t
		}
	}
	if latest == nil {
		return "", false
	}
	return latest.Message, true
}

// eventTime is when an Event last happened, in nanoseconds.
func eventTime(e *corev1.Event) int64 {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.UnixNano()
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.UnixNano()
	case !e.EventTime.IsZero():
		return e.EventTime.UnixNano()
	default:
		return e.FirstTimestamp.UnixNano()
	}
}
