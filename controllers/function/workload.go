package function

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// applySourceConfigMap writes the inline source ConfigMap (Git sources have none).
func (r *Reconciler) applySourceConfigMap(ctx context.Context, s *scope) error {
	desired, err := workload.SourceConfigMap(s.params)
	if err != nil {
		return err
	}
	if desired == nil {
		return nil
	}
	err = r.ensure(ctx, s.fn, desired, &corev1.ConfigMap{}, nil)
	return r.workloadError(s, err, serverlessv1alpha2.ReasonDeploymentFailed, "ConfigMap")
}

// applyDeployment writes the Function's Deployment and keeps the live one for observation.
// In build mode the Deployment is left as it is until the image is built: it goes on
// running what it ran (a previous image, or the buildless Pods before a switch).
func (r *Reconciler) applyDeployment(ctx context.Context, s *scope) error {
	if s.cfg.Mode == functionconfig.ModeBuild && !s.built {
		if s.existing == nil {
			s.setRunning(metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting, "waiting for the Function's image to be built")
			return errStop
		}
		s.deployment, s.deploymentHash = s.existing, workload.Hash(s.existing)
		return nil
	}
	desired, err := workload.Deployment(s.params)
	if err != nil {
		// the configuration lacks something this Function needs (an image, a profile)
		s.setConfigured(metav1.ConditionFalse, serverlessv1alpha2.ReasonInvalidFunctionSpec, err.Error())
		s.warn(serverlessv1alpha2.ReasonInvalidFunctionSpec, "BuildDeployment", err.Error())
		s.final = true
		return errStop
	}
	live := &appsv1.Deployment{}
	replicasDrifted := func(o client.Object) bool {
		if desired.Spec.Replicas == nil {
			return false // an autoscaler sets them
		}
		d := o.(*appsv1.Deployment)
		return d.Spec.Replicas == nil || *d.Spec.Replicas != *desired.Spec.Replicas
	}
	if err := r.ensure(ctx, s.fn, desired, live, replicasDrifted); err != nil {
		return r.workloadError(s, err, serverlessv1alpha2.ReasonDeploymentFailed, "Deployment")
	}
	s.deployment, s.deploymentHash = live, workload.Hash(desired)
	return nil
}

// applyService writes the Function's Service.
func (r *Reconciler) applyService(ctx context.Context, s *scope) error {
	desired, err := workload.Service(s.params)
	if err != nil {
		return err
	}
	err = r.ensure(ctx, s.fn, desired, &corev1.Service{}, nil)
	return r.workloadError(s, err, serverlessv1alpha2.ReasonServiceFailed, "Service")
}

// applyHPA writes the HorizontalPodAutoscaler of a Function with scaleConfig, and deletes it
// when scaleConfig is gone.
func (r *Reconciler) applyHPA(ctx context.Context, s *scope) error {
	desired, err := workload.HPA(s.params)
	if err != nil {
		return err
	}
	if desired != nil {
		err = r.ensure(ctx, s.fn, desired, &autoscalingv2.HorizontalPodAutoscaler{}, nil)
		return r.workloadError(s, err, serverlessv1alpha2.ReasonDeploymentFailed, "HorizontalPodAutoscaler")
	}
	live := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(s.fn), live); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(live, s.fn) {
		return nil
	}
	return r.delete(ctx, live)
}

// errConflict: an object with the name the controller needs exists and belongs to someone else.
var errConflict = errors.New("object exists and does not belong to the Function")

// observeDeployment derives Running from the live Deployment.
func (r *Reconciler) observeDeployment(_ context.Context, s *scope) error {
	status, reason, message := deploymentRunning(s.deployment, s.deploymentHash)
	s.setRunning(status, reason, message)
	if status == metav1.ConditionFalse {
		s.warn(reason, "ObserveDeployment", message)
	}
	return nil
}

// workloadError turns a write error into Running=False. A name taken by someone else's object
// needs a person and is not retried quickly; other errors are returned for a retry.
func (r *Reconciler) workloadError(s *scope, err error, reason, kind string) error {
	if err == nil {
		return nil
	}
	s.setRunning(metav1.ConditionFalse, reason, fmt.Sprintf("%s: %v", kind, err))
	if errors.Is(err, errConflict) {
		s.warn(reason, "Apply"+kind, err.Error())
		return errStop
	}
	return err
}

// ensure makes the object match desired, writing only when it has to: an object whose hash
// annotation equals desired's (and that drifted does not flag) is left alone. A cached object
// the controller applied before is applied over directly; anything else (not in the cache, or
// made by someone else) is read from the API server first, to refuse a name taken by another
// owner and to adopt objects of Kyma's legacy controller. The apply memo keeps a cache that
// lags behind the controller's own last apply from causing a second one. live receives the
// object as it is after ensure.
func (r *Reconciler) ensure(ctx context.Context, fn *serverlessv1alpha2.Function, desired, live client.Object, drifted func(client.Object) bool) error {
	key := client.ObjectKeyFromObject(desired)
	memoKey := kindOf(desired) + "/" + key.String()
	want := workload.Hash(desired)
	upToDate := func() bool {
		return workload.Hash(live) == want && (drifted == nil || !drifted(live))
	}
	err := r.Client.Get(ctx, key, live)
	switch {
	case err == nil && upToDate():
		return nil
	case err == nil && r.appliedAhead(memoKey, live, want):
		return nil
	case err == nil && belongsTo(live, fn) && workload.Hash(live) != "":
		// applied by the controller before: its fields are the controller's already
	case err != nil && !apierrors.IsNotFound(err):
		return err
	default:
		switch err := r.APIReader.Get(ctx, key, live); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		default:
			if !belongsTo(live, fn) {
				return fmt.Errorf("%w: %s %s", errConflict, kindOf(desired), key)
			}
			if upToDate() {
				return nil
			}
			if err := r.takeOwnership(ctx, live); err != nil {
				return err
			}
		}
	}

	u, err := applyObject(desired)
	if err != nil {
		return err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", kindOf(desired), key, err)
	}
	v := reflect.ValueOf(live).Elem()
	v.Set(reflect.Zero(v.Type()))
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, live); err != nil {
		return fmt.Errorf("decode applied %s %s: %w", kindOf(desired), key, err)
	}
	r.applied.Record(memoKey, string(live.GetUID()), live.GetResourceVersion(), want)
	log.FromContext(ctx).V(1).Info("Applied", "kind", kindOf(desired), "object", key.Name)
	return nil
}

// appliedAhead reports whether the controller's last apply of the object already wrote the
// hash wanted and the cached copy predates that apply.
func (r *Reconciler) appliedAhead(memoKey string, cached client.Object, want string) bool {
	last, ok := r.applied.Ahead(memoKey, string(cached.GetUID()), cached.GetResourceVersion())
	return ok && last == want
}

// controlPlaneManager is the field manager of the Deployment and HPA controllers; the
// fields it owns (the revision annotation, replicas set through the scale subresource)
// stay its own.
const controlPlaneManager = "kube-controller-manager"

// takeOwnership makes the controller's apply the owner of every field that other clients
// set with create or update (Kyma's legacy controller, or a person with kubectl), before the
// controller applies an object it did not create. Otherwise the fields the controller does
// not set would stay: a legacy Pod template would keep its ServiceAccount and volumes. An
// object the controller applied before is left alone.
func (r *Reconciler) takeOwnership(ctx context.Context, live client.Object) error {
	managers := sets.New[string]()
	for _, e := range live.GetManagedFields() {
		if e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			return nil
		}
		if e.Operation == metav1.ManagedFieldsOperationUpdate && e.Subresource == "" && e.Manager != controlPlaneManager {
			managers.Insert(e.Manager)
		}
	}
	if managers.Len() == 0 {
		return nil
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(live, managers, FieldManager)
	if err != nil || patch == nil {
		return err
	}
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("take over the fields of %s %s: %w", kindOf(live), live.GetName(), err)
	}
	log.FromContext(ctx).Info("Adopted", "kind", kindOf(live), "object", live.GetName(), "previousManagers", sets.List(managers))
	return nil
}

// delete deletes an object of the Function if it is still the one seen (same UID), in the
// background; an object already gone is fine.
func (r *Reconciler) delete(ctx context.Context, obj client.Object) error {
	uid := obj.GetUID()
	err := r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s: %w", kindOf(obj), obj.GetName(), err)
	}
	if err == nil {
		log.FromContext(ctx).Info("Deleted", "kind", kindOf(obj), "object", obj.GetName())
	}
	return nil
}

// belongsTo reports whether the Function controls obj, or obj carries the Function's UID label
// (objects made by Kyma's legacy controller).
func belongsTo(obj client.Object, fn *serverlessv1alpha2.Function) bool {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return ref.UID == fn.UID
	}
	return obj.GetLabels()[serverlessv1alpha2.LabelUUID] == string(fn.UID)
}

// applyObject turns a typed object into an apply configuration: no status, no creation
// timestamps.
func applyObject(obj client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	if u.GetAPIVersion() == "" || u.GetKind() == "" {
		return nil, fmt.Errorf("%s has no apiVersion and kind", obj.GetName())
	}
	return u, nil
}

func kindOf(obj client.Object) string {
	if k := obj.GetObjectKind().GroupVersionKind().Kind; k != "" {
		return k
	}
	return reflect.TypeOf(obj).Elem().Name()
}

// deploymentRunning derives the Running condition from a Deployment whose template has hash
// desiredHash: True once the rollout of that template is complete and every desired replica
// is available; False when the Deployment cannot create Pods or exceeded its progress
// deadline; Unknown while it rolls out.
func deploymentRunning(d *appsv1.Deployment, desiredHash string) (metav1.ConditionStatus, string, string) {
	if d == nil || d.Name == "" {
		return metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting, "waiting for the Deployment to be created"
	}
	if workload.Hash(d) != desiredHash || d.Status.ObservedGeneration < d.Generation {
		return metav1.ConditionUnknown, serverlessv1alpha2.ReasonDeploymentWaiting,
			fmt.Sprintf("Deployment %s is being updated", d.Name)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			return metav1.ConditionFalse, serverlessv1alpha2.ReasonDeploymentFailed,
				fmt.Sprintf("Deployment %s cannot create Pods: %s", d.Name, c.Message)
		}
		if progressDeadlineExceeded(c) {
			return metav1.ConditionFalse, serverlessv1alpha2.ReasonDeploymentFailed,
				fmt.Sprintf("Deployment %s did not become available in time: %s", d.Name, c.Message)
		}
	}
	desired := desiredReplicas(d)
	st := d.Status
	if st.UpdatedReplicas == desired && st.AvailableReplicas == desired && st.Replicas == desired {
		return metav1.ConditionTrue, serverlessv1alpha2.ReasonDeploymentReady,
			fmt.Sprintf("Deployment %s is ready: %d/%d replicas available", d.Name, st.AvailableReplicas, desired)
	}
	reason := serverlessv1alpha2.ReasonDeploymentWaiting
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionFalse && st.UpdatedReplicas == desired {
			reason = serverlessv1alpha2.ReasonMinReplicasUnavailable
		}
	}
	return metav1.ConditionUnknown, reason,
		fmt.Sprintf("Deployment %s is rolling out: %d/%d replicas updated, %d available", d.Name, st.UpdatedReplicas, desired, st.AvailableReplicas)
}

// desiredReplicas is the replica count a Deployment asks for (1 when unset, as the API
// server defaults it).
func desiredReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// progressDeadlineExceeded reports whether a Deployment condition says its rollout made no
// progress within the deadline (the reason the Deployment controller sets).
func progressDeadlineExceeded(c appsv1.DeploymentCondition) bool {
	return c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded"
}
