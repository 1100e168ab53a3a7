package function

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// SetupWithManager registers the controller: Functions, the objects they own, build Jobs,
// the end of rollouts (for leftovers that wait for them), and the configuration ConfigMap
// in configCache, whose every change re-enqueues every Function.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, configCache cache.Cache, maxConcurrent int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("function").
		For(&serverlessv1alpha2.Function{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(r.jobChanged)).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutSettled)).
		WatchesRawSource(source.Kind(configCache, &corev1.ConfigMap{},
			handler.TypedEnqueueRequestsFromMapFunc(r.allFunctions))).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Complete(r)
}

// jobChanged enqueues the Function of a build Job, and every Function waiting for a build
// slot: a Job that finishes or goes away may free one.
func (r *Reconciler) jobChanged(_ context.Context, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	if ref := metav1.GetControllerOf(obj); ref != nil && ref.Kind == "Function" {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: ref.Name}})
	}
	r.slotWaiters.Range(func(k, _ any) bool {
		reqs = append(reqs, reconcile.Request{NamespacedName: k.(types.NamespacedName)})
		return true
	})
	return reqs
}

// allFunctions lists every Function, for a configuration change.
func (r *Reconciler) allFunctions(ctx context.Context, _ *corev1.ConfigMap) []reconcile.Request {
	list := &serverlessv1alpha2.FunctionList{}
	if err := r.Client.List(ctx, list); err != nil {
		log.FromContext(ctx).Error(err, "Cannot list Functions after a configuration change")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
