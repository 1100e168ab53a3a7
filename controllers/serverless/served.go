package serverless

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

// ensureServed decides whether obj is the one Serverless CR this operator
// serves and records the answer in status. A served CR stays served until it
// is gone (it owns the installation, including its uninstall); only then does
// the oldest remaining CR take over.
func (r *Reconciler) ensureServed(ctx context.Context, obj *operatorv1alpha1.Serverless) (bool, error) {
	if obj.Status.Served == operatorv1alpha1.ServedTrue {
		return true, nil
	}
	list := &operatorv1alpha1.ServerlessList{}
	if err := r.Client.List(ctx, list); err != nil {
		return false, fmt.Errorf("list Serverless objects: %w", err)
	}
	served := pickServed(list.Items)
	if served != nil && served.UID == obj.UID {
		obj.Status.Served = operatorv1alpha1.ServedTrue
		return true, nil
	}
	obj.Status.Served = operatorv1alpha1.ServedFalse
	name := "none"
	if served != nil {
		name = served.Namespace + "/" + served.Name
	}
	setCondition(obj, operatorv1alpha1.ConditionConfigured, metav1.ConditionFalse, operatorv1alpha1.ReasonDuplicated,
		fmt.Sprintf("only one Serverless object is served per cluster and %s is served; delete this one or that one", name))
	obj.Status.State = operatorv1alpha1.StateWarning
	return false, nil
}

// pickServed returns the CR already marked served or, if none is, the oldest
// one that is not being deleted.
func pickServed(items []operatorv1alpha1.Serverless) *operatorv1alpha1.Serverless {
	candidates := make([]*operatorv1alpha1.Serverless, 0, len(items))
	for i := range items {
		if items[i].Status.Served == operatorv1alpha1.ServedTrue {
			return &items[i]
		}
		if items[i].DeletionTimestamp.IsZero() {
			candidates = append(candidates, &items[i])
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i], candidates[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return client.ObjectKeyFromObject(a).String() < client.ObjectKeyFromObject(b).String()
	})
	return candidates[0]
}
