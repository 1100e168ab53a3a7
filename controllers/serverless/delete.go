package serverless

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

var functionListGVK = schema.GroupVersionKind{Group: "serverless.kyma-project.io", Version: "v1alpha2", Kind: "FunctionList"}

const (
	maxNamespacesInMessage = 3
	minDeletionBackoff     = 2 * time.Second
	maxDeletionBackoff     = 2 * time.Minute
)

// reconcileDelete uninstalls the module, but only once no Function is left:
// removing the CRD would delete every user's Functions with it.
func (r *Reconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	count, namespaces, err := r.countFunctions(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	if count > 0 {
		setCondition(s.obj, operatorv1alpha1.ConditionDeleted, metav1.ConditionFalse, operatorv1alpha1.ReasonDeletionBlocked,
			blockedMessage(count, namespaces))
		return ctrl.Result{RequeueAfter: deletionBackoff(s.obj.DeletionTimestamp.Time, time.Now())}, nil
	}
	setCondition(s.obj, operatorv1alpha1.ConditionDeleted, metav1.ConditionFalse, operatorv1alpha1.ReasonDeleting,
		"removing the Serverless components")
	done, err := s.engine.Uninstall(ctx)
	if err != nil {
		setCondition(s.obj, operatorv1alpha1.ConditionDeleted, metav1.ConditionFalse, operatorv1alpha1.ReasonDeletionFailed, err.Error())
		return ctrl.Result{}, fmt.Errorf("uninstall: %w", err)
	}
	if !done {
		return ctrl.Result{RequeueAfter: requeueWhileDeleting}, nil
	}
	return ctrl.Result{}, r.removeFinalizer(ctx, s)
}

// countFunctions lists Function metadata only; a missing CRD means none.
func (r *Reconciler) countFunctions(ctx context.Context) (int, []string, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(functionListGVK)
	if err := r.APIReader.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || isNotFoundResource(err) {
			return 0, nil, nil
		}
		return 0, nil, fmt.Errorf("list Functions: %w", err)
	}
	seen := map[string]bool{}
	var namespaces []string
	for _, fn := range list.Items {
		if !seen[fn.Namespace] {
			seen[fn.Namespace] = true
			namespaces = append(namespaces, fn.Namespace)
		}
	}
	sort.Strings(namespaces)
	return len(list.Items), namespaces, nil
}

func blockedMessage(count int, namespaces []string) string {
	shown := namespaces
	more := ""
	if len(shown) > maxNamespacesInMessage {
		shown = shown[:maxNamespacesInMessage]
		more = fmt.Sprintf(" and %d more", len(namespaces)-maxNamespacesInMessage)
	}
	return fmt.Sprintf("deletion is blocked: %d Function(s) still exist in namespace(s) %s%s; delete them to uninstall Serverless",
		count, strings.Join(shown, ", "), more)
}

// deletionBackoff grows with the time the deletion has been waiting, so a
// blocked deletion is retried quickly at first and rarely later, without
// keeping any state between reconciles.
func deletionBackoff(since, now time.Time) time.Duration {
	d := now.Sub(since) / 2
	if d < minDeletionBackoff {
		return minDeletionBackoff
	}
	if d > maxDeletionBackoff {
		return maxDeletionBackoff
	}
	return d
}
