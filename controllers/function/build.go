package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/workload"
)

const (
	// slotRetry is how soon a Function that waits for a build slot looks again, besides the
	// wake-up when a build Job changes.
	slotRetry = 5 * time.Second
	// refusalCheckAfter is how long a build Job may have no Pod before its Events are read
	// for a Pod Security refusal.
	refusalCheckAfter = 3 * time.Second
)

// refusedBuild records a build whose Pods Pod Security admission refused, so that its Job,
// deleted to free the build slot, is not created again for the same content.
type refusedBuild struct {
	uid     types.UID
	tag     string
	message string
}

// prepareBuild checks that builds can run for the Function and works out what to build:
// the namespace must not enforce the restricted Pod Security Standard, and the registry
// Secret named in the configuration must be usable. It sets the image tag (the content
// hash) and the image the Deployment pulls. The Secret's content never leaves it: messages
// name keys only.
func (r *Reconciler) prepareBuild(ctx context.Context, s *scope) error {
	fn := s.fn
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: fn.Namespace}, ns); err != nil {
		return fmt.Errorf("read namespace %s: %w", fn.Namespace, err)
	}
	if build.RestrictedNamespace(ns) {
		return s.buildRefused(build.MessageRestrictedNamespace)
	}
	if s.runtimeImage == "" {
		msg := fmt.Sprintf("no image is configured for runtime %s", s.rt.Name)
		s.setConfigured(metav1.ConditionFalse, serverlessv1alpha2.ReasonInvalidFunctionSpec, msg)
		s.warn(serverlessv1alpha2.ReasonInvalidFunctionSpec, "PrepareBuild", msg)
		s.final = true
		return errStop
	}

	cfgNamespace := r.Config.Key().Namespace
	name := s.cfg.Build.RegistrySecretName
	if name == "" {
		return s.registryUnusable("the Function controller's configuration names no registry Secret (build.registrySecretName)")
	}
	src, err := r.registrySecret(ctx, types.NamespacedName{Namespace: cfgNamespace, Name: name})
	if err != nil {
		return err
	}
	if src == nil {
		return s.registryUnusable(fmt.Sprintf("the registry Secret %s/%s was not found", cfgNamespace, name))
	}
	reg, err := build.ParseRegistrySecret(src.Data)
	if err != nil {
		// ParseRegistrySecret's errors name keys, never values
		return s.registryUnusable(fmt.Sprintf("registry Secret %s/%s: %v", cfgNamespace, name, err))
	}

	pullSecret := build.RegistrySecretCopyName
	if build.RegistrySecretCopy(src, fn.Namespace) == nil {
		pullSecret = src.Name // the Function lives next to the registry Secret itself
	}
	s.registrySource = src
	s.jobInput = build.JobInput{
		Config:             s.cfg,
		PushAddress:        reg.PushAddress,
		RuntimeImage:       s.runtimeImage,
		Commit:             s.commit,
		RegistrySecretName: pullSecret,
	}
	s.tag = s.jobInput.Tag(fn)
	s.image = build.ImageName(reg.PullAddress, fn.Namespace, fn.Name, s.tag)
	s.params.PullSecret = pullSecret
	return nil
}

// registryRead is the registry Secret as read at a time; secret is nil when it was missing.
type registryRead struct {
	key    types.NamespacedName
	at     time.Time
	secret *corev1.Secret
}

// registrySecretTTL is how long a read of the registry Secret serves every Function: the
// Secret is not cached, and reading it for each of many Functions would slow them down.
const registrySecretTTL = 10 * time.Second

// registrySecret reads the registry Secret from the API server, at most once per
// registrySecretTTL; nil when it does not exist. The caller must not change it.
func (r *Reconciler) registrySecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	if last := r.registry.Load(); last != nil && last.key == key && r.now().Sub(last.at) < registrySecretTTL {
		return last.secret, nil
	}
	read := &registryRead{key: key, at: r.now(), secret: &corev1.Secret{}}
	if err := r.APIReader.Get(ctx, key, read.secret); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("read the registry Secret %s: %w", key, err)
		}
		read.secret = nil
	}
	r.registry.Store(read)
	return read.secret, nil
}

// registryUnusable reports a registry configuration problem on BuildReady. The Function's
// Deployment is left as it is; the Secret is read again at the next requeue.
func (s *scope) registryUnusable(msg string) error {
	s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonRegistryNotConfigured, msg)
	s.warn(serverlessv1alpha2.ReasonRegistryNotConfigured, "PrepareBuild", msg)
	return errStop
}

// buildRefused reports that build Pods cannot run in the Function's namespace. Nothing is
// retried until the Function or the configuration changes: the Function's Deployment, if
// any, goes on running what it runs.
func (s *scope) buildRefused(msg string) error {
	s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonPodSecurityRestricted, msg)
	s.warn(serverlessv1alpha2.ReasonPodSecurityRestricted, "CreateBuildJob", msg)
	s.final = true
	return errStop
}

// applyBuildNamespace gives the Function's namespace what build Jobs and Function Pods
// need: the copy of the registry Secret, the ServiceAccount serverless-function and the
// copy of the Function runtime's Dockerfile ConfigMap (a Pod mounts ConfigMaps of its own
// namespace only). They are shared by the namespace's Functions and written once per change
// of their source (or when someone changed or deleted them; they are read at most once per
// requeue interval).
func (r *Reconciler) applyBuildNamespace(ctx context.Context, s *scope) error {
	dockerfile, err := r.dockerfileCopy(ctx, s)
	if err != nil {
		return err
	}
	if err := r.applyRegistryObjects(ctx, s); err != nil {
		return err
	}
	if dockerfile == nil {
		return nil
	}
	return r.applyDockerfileCopy(ctx, s, dockerfile)
}

// applyRegistryObjects applies the namespace's registry Secret copy and ServiceAccount
// serverless-function.
func (r *Reconciler) applyRegistryObjects(ctx context.Context, s *scope) error {
	ns := s.fn.Namespace
	secret := build.RegistrySecretCopy(s.registrySource, ns)
	sa := build.FunctionServiceAccount(ns, s.params.PullSecret)
	objs := []client.Object{sa}
	if secret != nil {
		objs = append(objs, secret)
	}
	var memo string
	for _, o := range objs {
		if err := workload.SetHash(o); err != nil {
			return err
		}
		memo += workload.Hash(o)
	}

	mu := r.nsLock(ns)
	mu.Lock()
	defer mu.Unlock()
	if v, ok := r.nsReady.Load(ns); ok {
		if a := v.(namespaceApplied); a.hash == memo && r.now().Sub(a.at) < s.cfg.RequeueDuration.Duration {
			return nil
		}
	}
	r.nsClean.Delete(ns)
	if secret != nil {
		if err := r.ensureShared(ctx, secret, &corev1.Secret{}, build.KindSecret); err != nil {
			return r.sharedError(s, err)
		}
	}
	if err := r.ensureShared(ctx, sa, &corev1.ServiceAccount{}, build.KindServiceAccount); err != nil {
		return r.sharedError(s, err)
	}
	r.nsReady.Store(ns, namespaceApplied{hash: memo, at: r.now()})
	return nil
}

// dockerfileCopy reads the Dockerfile ConfigMap of the Function's runtime from the
// configuration namespace and returns its copy for the Function's namespace; nil in the
// configuration namespace itself, where build Jobs mount the original.
func (r *Reconciler) dockerfileCopy(ctx context.Context, s *scope) (*corev1.ConfigMap, error) {
	runtime := string(s.fn.Spec.Runtime)
	key := types.NamespacedName{Namespace: r.Config.Key().Namespace, Name: s.cfg.DockerfileConfigMapName(runtime)}
	src, err := r.dockerfileSource(ctx, key)
	if err != nil {
		return nil, err
	}
	if src == nil {
		return nil, s.dockerfileUnusable(fmt.Sprintf("the Dockerfile ConfigMap %s of runtime %s was not found", key, runtime))
	}
	cm, err := build.DockerfileCopy(src, runtime, s.fn.Namespace)
	if err != nil {
		return nil, s.dockerfileUnusable(err.Error())
	}
	return cm, nil
}

// dockerfileRead is a Dockerfile ConfigMap as read at a time; configMap is nil when it was
// missing.
type dockerfileRead struct {
	at        time.Time
	configMap *corev1.ConfigMap
}

// dockerfileSourceTTL is how long a read of a Dockerfile ConfigMap serves every Function of
// its runtime: the originals are not cached (they do not carry the label the cache selects).
const dockerfileSourceTTL = registrySecretTTL

// dockerfileSource reads a Dockerfile ConfigMap from the API server, at most once per
// dockerfileSourceTTL; nil when it does not exist. The caller must not change it.
func (r *Reconciler) dockerfileSource(ctx context.Context, key types.NamespacedName) (*corev1.ConfigMap, error) {
	if v, ok := r.dockerfiles.Load(key); ok {
		if last := v.(*dockerfileRead); r.now().Sub(last.at) < dockerfileSourceTTL {
			return last.configMap, nil
		}
	}
	read := &dockerfileRead{at: r.now(), configMap: &corev1.ConfigMap{}}
	if err := r.APIReader.Get(ctx, key, read.configMap); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("read the Dockerfile ConfigMap %s: %w", key, err)
		}
		read.configMap = nil
	}
	r.dockerfiles.Store(key, read)
	return read.configMap, nil
}

// applyDockerfileCopy applies the namespace's copy of a runtime's Dockerfile ConfigMap,
// shared by the namespace's Functions of that runtime.
func (r *Reconciler) applyDockerfileCopy(ctx context.Context, s *scope, cm *corev1.ConfigMap) error {
	if err := workload.SetHash(cm); err != nil {
		return err
	}
	key := client.ObjectKeyFromObject(cm)
	mu := r.nsLock(key.Namespace)
	mu.Lock()
	defer mu.Unlock()
	if v, ok := r.nsDockerfiles.Load(key); ok {
		if a := v.(namespaceApplied); a.hash == workload.Hash(cm) && r.now().Sub(a.at) < s.cfg.RequeueDuration.Duration {
			return nil
		}
	}
	r.nsClean.Delete(key.Namespace)
	if err := r.ensureShared(ctx, cm, &corev1.ConfigMap{}, build.KindConfigMap); err != nil {
		if errors.Is(err, errConflict) {
			return s.dockerfileUnusable(err.Error() + ": rename or remove it, the Function controller needs that name for builds")
		}
		return err
	}
	r.nsDockerfiles.Store(key, namespaceApplied{hash: workload.Hash(cm), at: r.now()})
	return nil
}

// dockerfileUnusable reports on BuildReady that the runtime's Dockerfile cannot be given to
// build Jobs. The Dockerfile ConfigMap is read again at the next requeue.
func (s *scope) dockerfileUnusable(msg string) error {
	s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonConfigMapFailed, msg)
	s.warn(serverlessv1alpha2.ReasonConfigMapFailed, "PrepareBuild", msg)
	return errStop
}

// namespaceApplied is when a namespace's shared build objects were last found or made up to
// date; they are checked again after the requeue interval, in case someone deleted them.
type namespaceApplied struct {
	hash string
	at   time.Time
}

func (r *Reconciler) sharedError(s *scope, err error) error {
	if errors.Is(err, errConflict) {
		return s.registryUnusable(err.Error() + ": rename or remove it, the Function controller needs that name for builds")
	}
	return err
}

// ensureShared applies a namespace's shared build object unless it is up to date. An object
// of that name that is not a build object (ours or Kyma's legacy controller's) is left alone.
// The object is read from the API server: Secrets and ServiceAccounts are not cached, and
// the cache may not show a ConfigMap written a moment ago.
func (r *Reconciler) ensureShared(ctx context.Context, desired, live client.Object, kind string) error {
	key := client.ObjectKeyFromObject(desired)
	switch err := r.APIReader.Get(ctx, key, live); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read %s %s: %w", kind, key, err)
	default:
		if !build.IsBuildLeftover(live, kind) {
			return fmt.Errorf("%w: %s %s", errConflict, kind, key)
		}
		if workload.Hash(live) == workload.Hash(desired) {
			return nil
		}
	}
	u, err := applyObject(desired)
	if err != nil {
		return err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		// the error of the API server names the object, not its data
		return fmt.Errorf("apply %s %s: %w", kind, key, err)
	}
	log.FromContext(ctx).Info("Applied", "kind", kind, "object", key.Name)
	return nil
}

// runBuild makes sure the image of the Function's current content exists: it is built when
// no build Job of that content exists and the Deployment does not run that image already.
// At most build.maxSimultaneousJobs build Jobs run in the cluster at once; a Function
// that has to wait says so on BuildReady and looks again soon. BuildReady follows the
// Job: JobRunning, JobFinished or JobFailed.
func (r *Reconciler) runBuild(ctx context.Context, s *scope) error {
	fn := s.fn
	key := client.ObjectKeyFromObject(fn)
	jobs := &batchv1.JobList{}
	if err := r.Client.List(ctx, jobs, client.InNamespace(fn.Namespace), functionLabels(fn)); err != nil {
		return fmt.Errorf("list build Jobs: %w", err)
	}
	var current *batchv1.Job
	for i := range jobs.Items {
		job := &jobs.Items[i]
		if !build.IsBuildJob(job) {
			continue
		}
		s.jobs = append(s.jobs, *job)
		if job.Labels[build.LabelContentHash] == s.tag && job.DeletionTimestamp.IsZero() {
			current = job
		}
	}

	if current == nil && runsImage(s.existing, s.image) {
		r.slotWaiters.Delete(key)
		s.built = true
		s.params.BuiltImage = s.image
		s.setBuildReady(metav1.ConditionTrue, serverlessv1alpha2.ReasonJobFinished, fmt.Sprintf("the image %s is built", s.image))
		return nil
	}
	if v, ok := r.refused.Load(key); ok {
		if rb := v.(refusedBuild); rb.uid == fn.UID && rb.tag == s.tag {
			return s.buildRefused(rb.message)
		}
		r.refused.Delete(key)
	}
	if current == nil {
		job, err := r.startBuild(ctx, s)
		if err != nil || job == nil {
			return err
		}
		current = job
	}

	state, msg := build.JobState(current)
	switch state {
	case build.StateSucceeded:
		s.built = true
		s.params.BuiltImage = s.image
		s.setBuildReady(metav1.ConditionTrue, serverlessv1alpha2.ReasonJobFinished, msg)
	case build.StateFailed:
		s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonJobFailed, msg)
		s.warn(serverlessv1alpha2.ReasonJobFailed, "BuildImage", msg)
		s.final = true
	default:
		if refusal, err := r.podSecurityRefusal(ctx, current); err != nil {
			return err
		} else if refusal != "" {
			msg := build.MessageRestrictedNamespace + " The API server refused the build Pod: " + refusal
			r.refused.Store(key, refusedBuild{uid: fn.UID, tag: s.tag, message: msg})
			// the Job would hold a build slot until its deadline
			if err := r.deleteJob(ctx, current); err != nil {
				return err
			}
			return s.buildRefused(msg)
		}
		s.setBuildReady(metav1.ConditionUnknown, serverlessv1alpha2.ReasonJobRunning, msg)
		if current.Status.Active == 0 {
			s.requeue(refusalCheckAfter) // look for a refusal if no Pod shows up
		}
	}
	return nil
}

// startBuild creates the build input ConfigMap and the build Job of the current content,
// if a build slot is free. It returns the Job, or nil when the Function waits for a slot.
func (r *Reconciler) startBuild(ctx context.Context, s *scope) (*batchv1.Job, error) {
	fn := s.fn
	key := client.ObjectKeyFromObject(fn)
	job := build.Job(fn, s.jobInput)
	job.OwnerReferences = []metav1.OwnerReference{workload.OwnerReference(fn)}
	jobKey := client.ObjectKeyFromObject(job)

	all := &batchv1.JobList{}
	if err := r.Client.List(ctx, all); err != nil {
		return nil, fmt.Errorf("list build Jobs: %w", err)
	}
	limit := s.cfg.Build.MaxSimultaneousJobs
	if !r.gate().TryStart(jobKey, all.Items, limit) {
		r.slotWaiters.Store(key, fn.UID)
		s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonJobWaiting, fmt.Sprintf(
			"waiting for a build slot: at most %d build Jobs run at once in the cluster, and as many are running", max(limit, 1)))
		s.requeue(slotRetry)
		return nil, nil
	}
	r.slotWaiters.Delete(key)

	if cm := build.SourceConfigMap(fn); cm != nil {
		cm.OwnerReferences = []metav1.OwnerReference{workload.OwnerReference(fn)}
		if err := r.createIfMissing(ctx, cm, &corev1.ConfigMap{}); err != nil {
			r.gate().Release(jobKey)
			s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonConfigMapFailed, fmt.Sprintf("build input ConfigMap %s: %v", cm.Name, err))
			return nil, err
		}
	}
	if err := r.Client.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		r.gate().Release(jobKey)
		s.setBuildReady(metav1.ConditionFalse, serverlessv1alpha2.ReasonJobFailed, fmt.Sprintf("cannot create build Job %s: %v", job.Name, err))
		return nil, fmt.Errorf("create build Job %s: %w", job.Name, err)
	}
	log.FromContext(ctx).Info("Build started", "job", job.Name, "tag", s.tag)
	return job, nil
}

// deleteJob deletes a build Job and gives back the build slot it may still hold.
func (r *Reconciler) deleteJob(ctx context.Context, job *batchv1.Job) error {
	if err := r.delete(ctx, job); err != nil {
		return err
	}
	r.gate().Release(client.ObjectKeyFromObject(job))
	return nil
}

// createIfMissing creates an object whose name fixes its content (an immutable build input
// ConfigMap) unless the cache or the API server has it.
func (r *Reconciler) createIfMissing(ctx context.Context, obj, live client.Object) error {
	key := client.ObjectKeyFromObject(obj)
	if err := r.Client.Get(ctx, key, live); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	if err := r.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// podSecurityRefusal returns why Pod Security admission refused the Pod of a build Job that
// has none after refusalCheckAfter, from the Job's Events; empty when it did not.
func (r *Reconciler) podSecurityRefusal(ctx context.Context, job *batchv1.Job) (string, error) {
	if job.Status.Active > 0 || job.Status.Succeeded > 0 || job.Status.Failed > 0 ||
		job.CreationTimestamp.IsZero() || r.now().Sub(job.CreationTimestamp.Time) < refusalCheckAfter {
		return "", nil
	}
	events := &corev1.EventList{}
	if err := r.APIReader.List(ctx, events, client.InNamespace(job.Namespace), client.MatchingFields{
		"involvedObject.kind": "Job", "involvedObject.name": job.Name,
	}); err != nil {
		return "", fmt.Errorf("list the Events of build Job %s: %w", job.Name, err)
	}
	var own []corev1.Event
	for _, e := range events.Items {
		if e.InvolvedObject.UID == job.UID {
			own = append(own, e)
		}
	}
	msg, _ := build.PodSecurityRefusal(own)
	return msg, nil
}

// runsImage reports whether a Deployment's Function container runs image.
func runsImage(d *appsv1.Deployment, image string) bool {
	if d == nil || image == "" {
		return false
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == workload.FunctionContainer {
			return c.Image == image
		}
	}
	return false
}

// cleanupBuilds deletes, once the current image is built, the Function's other build Jobs
// and build input ConfigMaps, and once its Deployment runs the image, the buildless source
// ConfigMap and the duplicate Deployments.
func (r *Reconciler) cleanupBuilds(ctx context.Context, s *scope) error {
	if !s.built {
		return nil
	}
	for i := range s.jobs {
		if job := &s.jobs[i]; job.Labels[build.LabelContentHash] != s.tag && job.DeletionTimestamp.IsZero() {
			if err := r.deleteJob(ctx, job); err != nil {
				return err
			}
		}
	}
	keep := ""
	if cm := build.SourceConfigMap(s.fn); cm != nil {
		keep = cm.Name
	}
	rolledOut := s.rolledOut()
	if err := r.deleteConfigMaps(ctx, s, func(cm *corev1.ConfigMap) bool {
		if build.IsBuildLeftover(cm, build.KindConfigMap) {
			return cm.Name != keep
		}
		return rolledOut && cm.Labels[serverlessv1alpha2.LabelResource] == workload.ResourceSource
	}); err != nil {
		return err
	}
	if rolledOut {
		return r.deleteDuplicates(ctx, s)
	}
	return nil
}

// deleteConfigMaps deletes the Function's ConfigMaps that match.
func (r *Reconciler) deleteConfigMaps(ctx context.Context, s *scope, match func(*corev1.ConfigMap) bool) error {
	cms := &corev1.ConfigMapList{}
	if err := r.Client.List(ctx, cms, client.InNamespace(s.fn.Namespace), functionLabels(s.fn)); err != nil {
		return fmt.Errorf("list ConfigMaps: %w", err)
	}
	for i := range cms.Items {
		cm := &cms.Items[i]
		if cm.DeletionTimestamp.IsZero() && match(cm) {
			if err := r.delete(ctx, cm); err != nil {
				return err
			}
		}
	}
	return nil
}

// functionLabels select the objects of a Function, ours and those of Kyma's legacy controller.
func functionLabels(fn *serverlessv1alpha2.Function) client.MatchingLabels {
	return client.MatchingLabels{serverlessv1alpha2.LabelFunctionName: fn.Name, serverlessv1alpha2.LabelUUID: string(fn.UID)}
}
