package serverless

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

// setCondition records a condition with the object's current generation.
func setCondition(obj *operatorv1alpha1.Serverless, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: obj.Generation,
	})
}

// summarizeState derives the Kyma module state from the conditions, so that
// state and conditions can never tell different stories.
func summarizeState(obj *operatorv1alpha1.Serverless) string {
	conds := obj.Status.Conditions
	isFalse := func(t string) bool { return meta.IsStatusConditionFalse(conds, t) }
	isTrue := func(t string) bool { return meta.IsStatusConditionTrue(conds, t) }

	switch {
	case obj.Status.Served == operatorv1alpha1.ServedFalse:
		return operatorv1alpha1.StateWarning
	case !obj.DeletionTimestamp.IsZero():
		if c := meta.FindStatusCondition(conds, operatorv1alpha1.ConditionDeleted); c != nil && c.Reason == operatorv1alpha1.ReasonDeletionBlocked {
			return operatorv1alpha1.StateWarning
		}
		if c := meta.FindStatusCondition(conds, operatorv1alpha1.ConditionDeleted); c != nil && c.Reason == operatorv1alpha1.ReasonDeletionFailed {
			return operatorv1alpha1.StateError
		}
		return operatorv1alpha1.StateDeleting
	case isTrue(operatorv1alpha1.ConditionDeploymentFailure):
		return operatorv1alpha1.StateError
	case isFalse(operatorv1alpha1.ConditionInstalled) && installFailed(conds):
		return operatorv1alpha1.StateError
	case isFalse(operatorv1alpha1.ConditionConfigured):
		c := meta.FindStatusCondition(conds, operatorv1alpha1.ConditionConfigured)
		if c.Reason == operatorv1alpha1.ReasonInvalidBuildlessMode {
			if isTrue(operatorv1alpha1.ConditionInstalled) {
				return operatorv1alpha1.StateWarning
			}
			return operatorv1alpha1.StateProcessing
		}
		return operatorv1alpha1.StateError
	case isTrue(operatorv1alpha1.ConditionConfigured) && isTrue(operatorv1alpha1.ConditionInstalled):
		return operatorv1alpha1.StateReady
	default:
		return operatorv1alpha1.StateProcessing
	}
}

func installFailed(conds []metav1.Condition) bool {
	c := meta.FindStatusCondition(conds, operatorv1alpha1.ConditionInstalled)
	return c != nil && (c.Reason == operatorv1alpha1.ReasonRenderFailed || c.Reason == operatorv1alpha1.ReasonApplyFailed)
}

// emitConditionEvents publishes one Event per condition whose status, reason
// or message changed, so `kubectl describe` tells the history.
func emitConditionEvents(rec events.EventRecorder, obj *operatorv1alpha1.Serverless, before []metav1.Condition) {
	if rec == nil {
		return
	}
	for _, c := range obj.Status.Conditions {
		old := meta.FindStatusCondition(before, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			continue
		}
		eventType := corev1.EventTypeNormal
		if (c.Status != metav1.ConditionTrue) != (c.Type == operatorv1alpha1.ConditionDeploymentFailure) {
			eventType = corev1.EventTypeWarning
		}
		message := c.Message
		if message == "" {
			message = c.Type + " is " + string(c.Status)
		}
		rec.Eventf(obj, nil, eventType, c.Reason, c.Type, "%s", message)
	}
}
