package function

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// namespaceRetry is how soon a Function looks again at its namespace's shared build objects
// while other Functions there still need them.
const namespaceRetry = 10 * time.Second

// cleanupRecheck is how soon a Function whose build leftovers wait for its namespace's
// rollouts looks again, should the event that ends the wait be missed.
const cleanupRecheck = time.Minute

// keptDeployment is the Deployment a Function keeps among several.
type keptDeployment struct {
	uid  types.UID
	name string
}

// findDeployment finds the Function's Deployments by its labels: the controller's own <fn>,
// or one Kyma's legacy controller created with a generated name, which is kept with its name
// (its selector is the same). Of several, the Function keeps the one it kept before, else an
// available one, else the oldest; the others are deleted once the kept one runs the current
// Pod template and is available.
func (r *Reconciler) findDeployment(ctx context.Context, s *scope) error {
	fn := s.fn
	list := &appsv1.DeploymentList{}
	if err := r.Client.List(ctx, list, client.InNamespace(fn.Namespace), functionLabels(fn)); err != nil {
		return fmt.Errorf("list Deployments: %w", err)
	}
	var candidates []appsv1.Deployment
	for _, d := range list.Items {
		if belongsTo(&d, fn) && d.DeletionTimestamp.IsZero() {
			candidates = append(candidates, d)
		}
	}
	key := client.ObjectKeyFromObject(fn)
	if len(candidates) == 0 {
		r.deployments.Delete(key)
		return nil
	}
	var previous string
	if v, ok := r.deployments.Load(key); ok && v.(keptDeployment).uid == fn.UID {
		previous = v.(keptDeployment).name
	}
	slices.SortStableFunc(candidates, func(a, b appsv1.Deployment) int {
		return compareCandidates(&a, &b, previous)
	})
	kept := candidates[0]
	s.existing = &kept
	s.duplicates = candidates[1:]
	s.params.DeploymentName = kept.Name
	if len(candidates) > 1 || kept.Name != workload.DeploymentName(fn) {
		r.deployments.Store(key, keptDeployment{uid: fn.UID, name: kept.Name})
	}
	return nil
}

// compareCandidates orders the Deployments of a Function, the one to keep first.
func compareCandidates(a, b *appsv1.Deployment, previous string) int {
	if (a.Name == previous) != (b.Name == previous) {
		if a.Name == previous {
			return -1
		}
		return 1
	}
	if av, bv := deploymentAvailable(a), deploymentAvailable(b); av != bv {
		if av {
			return -1
		}
		return 1
	}
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rolledOut reports whether the Function's Deployment runs the current Pod template with
// every desired replica available.
func (s *scope) rolledOut() bool {
	return s.running != nil && s.running.Status == metav1.ConditionTrue
}

// deleteDuplicates deletes the Function's other Deployments; call it once the kept one has
// rolled out.
func (r *Reconciler) deleteDuplicates(ctx context.Context, s *scope) error {
	for i := range s.duplicates {
		if err := r.delete(ctx, &s.duplicates[i]); err != nil {
			return err
		}
	}
	return nil
}

// cleanupBuildLeftovers finishes the move of a Function to buildless mode once its
// Deployment runs the buildless Pod template with every replica available: it deletes the
// duplicate Deployments, the Function's build Jobs and build input ConfigMaps (ours and
// Kyma's legacy controller's) and the BuildReady condition, and then the namespace's
// registry Secret copy, ServiceAccount and Dockerfile copies once no Function there needs
// them. While other Deployments of the namespace still roll out, the leftovers wait:
// deleting Jobs sets the garbage collector to work on their Pods, which would slow down the
// rollouts of a mode switch, and leftovers harm nobody for a while.
func (r *Reconciler) cleanupBuildLeftovers(ctx context.Context, s *scope) error {
	key := client.ObjectKeyFromObject(s.fn)
	if !s.rolledOut() {
		r.cleanupWaiters.remove(key)
		return nil
	}
	jobs, cms, err := r.buildLeftovers(ctx, s)
	if err != nil {
		return err
	}
	hasBuildReady := meta.FindStatusCondition(s.fn.Status.Conditions, serverlessv1alpha2.ConditionBuildReady) != nil
	if len(s.duplicates) == 0 && len(jobs) == 0 && len(cms) == 0 && !hasBuildReady && r.namespaceClean(s.fn.Namespace) {
		r.cleanupWaiters.remove(key)
		return nil
	}
	busy, err := r.rolloutInProgress(ctx, s.fn.Namespace)
	if err != nil {
		return err
	}
	if busy != "" {
		log.FromContext(ctx).V(1).Info("Build leftovers wait for the namespace's rollouts", "rollingOut", busy)
		r.cleanupWaiters.add(key)
		s.requeue(cleanupRecheck)
		return nil
	}
	r.cleanupWaiters.remove(key)

	if err := r.deleteDuplicates(ctx, s); err != nil {
		return err
	}
	for i := range jobs {
		if err := r.deleteJob(ctx, &jobs[i]); err != nil {
			return err
		}
	}
	for i := range cms {
		if err := r.delete(ctx, &cms[i]); err != nil {
			return err
		}
	}
	r.slotWaiters.Delete(key)
	s.dropBuildReady = hasBuildReady
	return r.cleanupNamespace(ctx, s)
}

// buildLeftovers lists the Function's build Jobs and build input ConfigMaps.
func (r *Reconciler) buildLeftovers(ctx context.Context, s *scope) ([]batchv1.Job, []corev1.ConfigMap, error) {
	jobList := &batchv1.JobList{}
	if err := r.Client.List(ctx, jobList, client.InNamespace(s.fn.Namespace), functionLabels(s.fn)); err != nil {
		return nil, nil, fmt.Errorf("list build Jobs: %w", err)
	}
	jobs := slices.DeleteFunc(jobList.Items, func(job batchv1.Job) bool {
		return !build.IsBuildLeftover(&job, build.KindJob) || !job.DeletionTimestamp.IsZero()
	})
	cmList := &corev1.ConfigMapList{}
	if err := r.Client.List(ctx, cmList, client.InNamespace(s.fn.Namespace), functionLabels(s.fn)); err != nil {
		return nil, nil, fmt.Errorf("list ConfigMaps: %w", err)
	}
	cms := slices.DeleteFunc(cmList.Items, func(cm corev1.ConfigMap) bool {
		return !build.IsBuildLeftover(&cm, build.KindConfigMap) || !cm.DeletionTimestamp.IsZero()
	})
	return jobs, cms, nil
}

// namespaceClean reports whether the namespace is known to hold none of the shared build
// objects (or is the module's own namespace, whose originals stay).
func (r *Reconciler) namespaceClean(ns string) bool {
	if ns == r.Config.Key().Namespace {
		return true
	}
	_, ok := r.nsClean.Load(ns)
	return ok
}

// rolloutInProgress names a Deployment of the namespace that is rolling out a new Pod
// template; empty when none is.
func (r *Reconciler) rolloutInProgress(ctx context.Context, ns string) (string, error) {
	list := &appsv1.DeploymentList{}
	if err := r.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("list Deployments: %w", err)
	}
	for i := range list.Items {
		if d := &list.Items[i]; d.DeletionTimestamp.IsZero() && rollingOut(d) {
			return d.Name, nil
		}
	}
	return "", nil
}

// rollingOut reports whether a Deployment still moves its replicas to its current Pod
// template. A rollout that exceeded its progress deadline no longer counts: it needs a
// person, not patience.
func rollingOut(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if progressDeadlineExceeded(c) {
			return false
		}
	}
	desired := desiredReplicas(d)
	st := d.Status
	return st.ObservedGeneration < d.Generation || st.UpdatedReplicas < desired || st.Replicas > st.UpdatedReplicas
}

// rolloutSettled wakes the Functions whose leftovers wait in the Deployment's namespace,
// once no Deployment there rolls out any more.
func (r *Reconciler) rolloutSettled(ctx context.Context, obj client.Object) []reconcile.Request {
	d, ok := obj.(*appsv1.Deployment)
	if !ok || rollingOut(d) || !r.cleanupWaiters.has(d.Namespace) {
		return nil
	}
	if busy, err := r.rolloutInProgress(ctx, d.Namespace); err != nil || busy != "" {
		return nil
	}
	keys := r.cleanupWaiters.take(d.Namespace)
	reqs := make([]reconcile.Request, 0, len(keys))
	for _, k := range keys {
		reqs = append(reqs, reconcile.Request{NamespacedName: k})
	}
	return reqs
}

// waitList holds Functions waiting for something in their namespace.
type waitList struct {
	mu   sync.Mutex
	byNS map[string]map[types.NamespacedName]struct{}
}

func (w *waitList) add(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byNS == nil {
		w.byNS = map[string]map[types.NamespacedName]struct{}{}
	}
	if w.byNS[key.Namespace] == nil {
		w.byNS[key.Namespace] = map[types.NamespacedName]struct{}{}
	}
	w.byNS[key.Namespace][key] = struct{}{}
}

func (w *waitList) remove(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if set := w.byNS[key.Namespace]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(w.byNS, key.Namespace)
		}
	}
}

func (w *waitList) has(ns string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byNS[ns]) > 0
}

// take removes and returns the namespace's waiting Functions.
func (w *waitList) take(ns string) []types.NamespacedName {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]types.NamespacedName, 0, len(w.byNS[ns]))
	for k := range w.byNS[ns] {
		keys = append(keys, k)
	}
	delete(w.byNS, ns)
	return keys
}

// cleanupNamespace deletes the namespace's registry Secret copy, ServiceAccount
// serverless-function and Dockerfile ConfigMap copies once no Deployment there pulls with
// them and no build Job is left.
// The Secret loses the finalizer of Kyma's legacy controller first, which nobody would
// remove otherwise. The module's own namespace is left alone: the registry Secret, the
// ServiceAccount and the Dockerfile ConfigMaps there are the originals.
func (r *Reconciler) cleanupNamespace(ctx context.Context, s *scope) error {
	ns := s.fn.Namespace
	if r.namespaceClean(ns) {
		return nil
	}
	mu := r.nsLock(ns)
	mu.Lock()
	defer mu.Unlock()
	if r.namespaceClean(ns) {
		return nil
	}

	needed, err := r.buildObjectsNeeded(ctx, ns)
	if err != nil {
		return err
	}
	if needed != "" {
		log.FromContext(ctx).V(1).Info("Namespace build objects still needed", "by", needed)
		s.requeue(namespaceRetry)
		return nil
	}

	secret := &corev1.Secret{}
	switch err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: build.RegistrySecretCopyName}, secret); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read the registry Secret copy: %w", err)
	case build.IsBuildLeftover(secret, build.KindSecret):
		if err := r.removeLegacyFinalizer(ctx, secret); err != nil {
			return err
		}
		if err := r.delete(ctx, secret); err != nil {
			return err
		}
	}
	sa := &corev1.ServiceAccount{}
	switch err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: serverlessv1alpha2.FunctionServiceAccount}, sa); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read the ServiceAccount %s: %w", serverlessv1alpha2.FunctionServiceAccount, err)
	case build.IsBuildLeftover(sa, build.KindServiceAccount):
		if err := r.delete(ctx, sa); err != nil {
			return err
		}
	}
	if err := r.deleteDockerfileCopies(ctx, ns); err != nil {
		return err
	}
	r.nsReady.Delete(ns)
	r.nsClean.Store(ns, struct{}{})
	return nil
}

// deleteDockerfileCopies deletes the namespace's copies of the Dockerfile ConfigMaps, ours
// and Kyma's legacy controller's (which the cache may not hold).
func (r *Reconciler) deleteDockerfileCopies(ctx context.Context, ns string) error {
	cms := &corev1.ConfigMapList{}
	if err := r.APIReader.List(ctx, cms, client.InNamespace(ns), client.MatchingLabels{serverlessv1alpha2.LabelConfig: build.ConfigRuntime}); err != nil {
		return fmt.Errorf("list the Dockerfile ConfigMap copies: %w", err)
	}
	for i := range cms.Items {
		if cm := &cms.Items[i]; build.IsDockerfileCopy(cm) && cm.DeletionTimestamp.IsZero() {
			if err := r.delete(ctx, cm); err != nil {
				return err
			}
		}
	}
	r.nsDockerfiles.Range(func(k, _ any) bool {
		if k.(types.NamespacedName).Namespace == ns {
			r.nsDockerfiles.Delete(k)
		}
		return true
	})
	return nil
}

// buildObjectsNeeded names a Deployment or build Job of the namespace that still needs its
// registry Secret copy, its ServiceAccount serverless-function or its Dockerfile copies;
// empty when none does.
func (r *Reconciler) buildObjectsNeeded(ctx context.Context, ns string) (string, error) {
	deps := &appsv1.DeploymentList{}
	if err := r.Client.List(ctx, deps, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("list Deployments: %w", err)
	}
	for _, d := range deps.Items {
		pod := d.Spec.Template.Spec
		if pod.ServiceAccountName == serverlessv1alpha2.FunctionServiceAccount ||
			slices.ContainsFunc(pod.ImagePullSecrets, func(ref corev1.LocalObjectReference) bool { return ref.Name == build.RegistrySecretCopyName }) {
			return "Deployment " + d.Name, nil
		}
	}
	jobs := &batchv1.JobList{}
	if err := r.Client.List(ctx, jobs, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("list Jobs: %w", err)
	}
	for i := range jobs.Items {
		if build.IsBuildJob(&jobs.Items[i]) {
			return "Job " + jobs.Items[i].Name, nil
		}
	}
	return "", nil
}

// removeLegacyFinalizer removes Kyma's legacy registry finalizer from a Secret.
func (r *Reconciler) removeLegacyFinalizer(ctx context.Context, secret *corev1.Secret) error {
	if !slices.Contains(secret.Finalizers, serverlessv1alpha2.FinalizerRegistryConfig) {
		return nil
	}
	patched := secret.DeepCopy()
	patched.Finalizers = slices.DeleteFunc(patched.Finalizers, func(f string) bool { return f == serverlessv1alpha2.FinalizerRegistryConfig })
	if err := r.Client.Patch(ctx, patched, client.MergeFromWithOptions(secret, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("remove the finalizer of Secret %s: %w", secret.Name, err)
	}
	*secret = *patched
	return nil
}
