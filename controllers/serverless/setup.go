package serverless

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/internal/installer"
)

var corev1Service = corev1.SchemeGroupVersion.WithKind("Service")

// ownedKinds are the kinds charts/serverless renders. They are watched (only
// objects carrying the module label) so that drift is repaired at once.
func ownedKinds() []client.Object {
	return []client.Object{
		&apiextensionsv1.CustomResourceDefinition{},
		&corev1.ServiceAccount{},
		&corev1.ConfigMap{},
		&corev1.Service{},
		&rbacv1.ClusterRole{},
		&rbacv1.ClusterRoleBinding{},
		&rbacv1.Role{},
		&rbacv1.RoleBinding{},
		&appsv1.Deployment{},
		&networkingv1.NetworkPolicy{},
		&schedulingv1.PriorityClass{},
	}
}

// CacheOptions restricts the manager's cache to objects this module owns, so
// memory stays flat however large the cluster is.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultLabelSelector: installer.OwnedLabelSelector(ModuleName),
		ByObject: map[client.Object]cache.ByObject{
			&operatorv1alpha1.Serverless{}: {Label: labels.Everything()},
		},
	}
}

// InventoryKey names the inventory of a Serverless installation.
func inventoryName() string { return releaseName + "-inventory" }

// SetupWithManager registers the reconciler and its watches.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.NewEngine == nil {
		r.NewEngine = func(namespace string) *installer.Engine {
			return installer.New(r.Client, r.APIReader, installer.Options{
				FieldManager:       FieldManager,
				Module:             ModuleName,
				ManagedBy:          FieldManager,
				InventoryNamespace: namespace,
				InventoryName:      inventoryName(),
			})
		}
	}
	r.metrics = newMetrics()
	b := ctrl.NewControllerManagedBy(mgr).
		Named("serverless").
		For(&operatorv1alpha1.Serverless{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{},
			predicate.AnnotationChangedPredicate{},
			deletionPredicate{},
		))).
		// When a CR goes away another one may have to become served.
		Watches(&operatorv1alpha1.Serverless{}, handler.EnqueueRequestsFromMapFunc(r.allServerless),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc:  func(event.CreateEvent) bool { return false },
				UpdateFunc:  func(event.UpdateEvent) bool { return false },
				GenericFunc: func(event.GenericEvent) bool { return false },
			}))
	for _, obj := range ownedKinds() {
		b = b.Watches(obj, handler.EnqueueRequestsFromMapFunc(r.allServerless))
	}
	return b.Complete(r)
}

// allServerless maps any owned-object event to the Serverless CRs; only the
// served one acts on it.
func (r *Reconciler) allServerless(ctx context.Context, _ client.Object) []reconcile.Request {
	list := &operatorv1alpha1.ServerlessList{}
	if err := r.Client.List(ctx, list); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, item := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&item)})
	}
	return reqs
}

// deletionPredicate passes updates that start a deletion.
type deletionPredicate struct{ predicate.Funcs }

func (deletionPredicate) Update(e event.UpdateEvent) bool {
	return !e.ObjectNew.GetDeletionTimestamp().IsZero()
}
