// Package function reconciles Functions. In buildless mode every Function becomes a source
// ConfigMap (inline code), a Deployment that runs the runtime image with the code mounted, and
// a Service. In build mode a build Job turns the code into an image first, and the Deployment
// runs that image. The status reports whether the configuration was accepted, whether the
// image is built (build mode) and whether the Deployment is available.
//
// Both modes write the same Deployment (same name, same selector), so switching modes updates
// its Pod template in place with a rolling update that keeps every replica available; the
// build objects are deleted once the buildless Pods are available. Deployments of Kyma's
// legacy controller, which have generated names, are adopted the same way.
//
// The controller writes as little as it can: children are applied with server-side apply only
// when their hash annotation differs, the status is written once it has something final to
// say (or after a grace period while a Deployment rolls out; not at all during a rollout the
// user did not ask for that keeps every replica available), and Events are only Warnings,
// emitted when a condition changes. A Function at rest costs no writes.
package function

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/gitsource"
	"github.com/kyma-serverless/serverless/internal/runtime"
	"github.com/kyma-serverless/serverless/internal/workload"
	"github.com/kyma-serverless/serverless/internal/writememo"
)

// FieldManager owns every field the controller applies; it is also the Events' reporter.
const FieldManager = "function-controller"

// Reasons of ConfigurationReady that concern the controller rather than the Function.
const (
	// ReasonConfigMissing: the controller's configuration ConfigMap (or its key) is missing.
	ReasonConfigMissing = "ControllerConfigurationMissing"
	// ReasonConfigInvalid: the controller's configuration cannot be used; the message names
	// every offending key.
	ReasonConfigInvalid = "ControllerConfigurationInvalid"
)

// DefaultStatusGrace is how long a rollout may take before the controller writes a waiting
// status; a Deployment that becomes available sooner costs one status write only.
const DefaultStatusGrace = 10 * time.Second

// Reconciler reconciles Functions.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache: Secrets (never cached) and fresh copies of objects
	// the cache may show out of date right after a write.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Config    *ConfigSource
	// ResolveGit resolves a Git reference; gitsource.Resolve when nil.
	ResolveGit func(ctx context.Context, url, reference string, auth transport.AuthMethod) (gitsource.Resolved, error)
	// StatusGrace overrides DefaultStatusGrace when positive.
	StatusGrace time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// Gate holds the cluster-wide limit on simultaneous builds; created on first use when nil.
	Gate     *build.Gate
	gateOnce sync.Once

	// In-memory state by Function name, each entry with the Function's UID; lost on restart,
	// which costs at most one status write, one Git listing or one read more.
	waiting     sync.Map // when the current rollout was first seen: waitState
	polled      sync.Map // the last Git resolution: pollState
	emitted     sync.Map // the last Warning Event: emittedEvent
	deployments sync.Map // the Deployment kept among several: keptDeployment
	slotWaiters sync.Map // Functions waiting for a build slot: types.UID
	// Functions whose build leftovers wait for their namespace's rollouts to settle
	cleanupWaiters waitList
	refused        sync.Map // a build whose Pods Pod Security admission refused: refusedBuild

	// What this process wrote last and the resourceVersion it produced, for reconciles
	// that start from a cache not showing the write yet: the hash applied, by kind and
	// object key, and the status, by Function UID.
	applied writememo.Memo[string]
	written writememo.Memo[serverlessv1alpha2.FunctionStatus]

	// registry is the last read of the registry Secret.
	registry atomic.Pointer[registryRead]
	// dockerfiles are the last reads of the Dockerfile ConfigMaps, by key: *dockerfileRead.
	dockerfiles sync.Map

	// In-memory state by namespace.
	nsLocks sync.Map // *sync.Mutex serializing the namespace's shared build objects
	nsReady sync.Map // build mode: the applied registry Secret copy and ServiceAccount: namespaceApplied
	// build mode: the applied Dockerfile ConfigMap copies, by key: namespaceApplied
	nsDockerfiles sync.Map
	nsClean       sync.Map // buildless mode: no registry Secret copy, ServiceAccount or Dockerfile copy left
}

// scope carries what one reconcile learns from step to step.
type scope struct {
	fn     *serverlessv1alpha2.Function
	cfg    *functionconfig.Config
	rt     runtime.Runtime
	params workload.Params

	// resolved Git source
	commit, reference string
	gitResolved       bool

	runtimeImage string
	// existing is the live Deployment the Function keeps (nil before the first one), and
	// duplicates are its other Deployments, deleted once the kept one is available.
	existing   *appsv1.Deployment
	duplicates []appsv1.Deployment
	// deployment is the Deployment after this reconcile and deploymentHash the hash it
	// should have; Running is derived from both.
	deployment     *appsv1.Deployment
	deploymentHash string

	// build mode
	registrySource *corev1.Secret
	jobInput       build.JobInput
	tag            string // content hash: the image tag
	image          string // the image the Deployment pulls
	jobs           []batchv1.Job
	built          bool // the image of tag exists

	configured *metav1.Condition
	buildReady *metav1.Condition
	running    *metav1.Condition
	// dropBuildReady removes the BuildReady condition (buildless mode, once migrated).
	dropBuildReady bool
	warnings       []warning
	// requeueAfter asks for another reconcile; the smallest non-zero value wins.
	requeueAfter time.Duration
	// final is set when the outcome cannot change without a change of the Function or the
	// configuration (no periodic requeue needed).
	final bool
}

type warning struct{ reason, action, message string }

type step func(ctx context.Context, s *scope) error

// errStop ends the step list without an error: the step recorded why in the scope.
var errStop = errors.New("stop")

// +kubebuilder:rbac:groups=serverless.kyma-project.io,resources=functions,verbs=get;list;watch
// +kubebuilder:rbac:groups=serverless.kyma-project.io,resources=functions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=serverless.kyma-project.io,resources=functions/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;create;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=list
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch

// Reconcile runs the steps of the configured mode for one Function and then reports the
// outcome in its status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	fn := &serverlessv1alpha2.Function{}
	if err := r.Client.Get(ctx, req.NamespacedName, fn); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !fn.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes the owned objects
	}

	s := &scope{fn: fn}
	var stepErr error
	for _, st := range r.steps(ctx, s) {
		if stepErr = st(ctx, s); stepErr != nil {
			break
		}
	}
	if errors.Is(stepErr, errStop) {
		stepErr = nil
	}
	if err := r.report(ctx, s); err != nil {
		return ctrl.Result{}, errors.Join(stepErr, err)
	}
	if stepErr != nil {
		return ctrl.Result{}, stepErr
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(s)}, nil
}

// steps lists what a reconcile does in the configured mode. The configuration is loaded
// first, so the list can depend on the mode: build mode builds the image between accepting
// the configuration and writing the Deployment.
func (r *Reconciler) steps(ctx context.Context, s *scope) []step {
	if err := r.loadConfig(ctx, s); err != nil {
		return []step{func(context.Context, *scope) error { return err }}
	}
	steps := []step{
		r.checkRuntime,
		r.checkDependencies,
		r.resolveGitSource,
		r.acceptConfiguration,
		r.findDeployment,
	}
	if s.cfg.Mode == functionconfig.ModeBuild {
		return append(steps,
			r.prepareBuild,
			r.applyBuildNamespace,
			r.runBuild,
			r.applyDeployment,
			r.applyService,
			r.applyHPA,
			r.observeDeployment,
			r.cleanupBuilds,
		)
	}
	return append(steps,
		r.applySourceConfigMap,
		r.applyDeployment,
		r.applyService,
		r.applyHPA,
		r.observeDeployment,
		r.cleanupBuildLeftovers,
	)
}

func (r *Reconciler) requeueAfter(s *scope) time.Duration {
	if s.requeueAfter > 0 {
		return s.requeueAfter
	}
	if s.final || s.cfg == nil {
		return 0
	}
	return s.cfg.RequeueDuration.Duration
}

// forget drops the in-memory state of a deleted Function.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.waiting.Delete(key)
	r.polled.Delete(key)
	r.emitted.Delete(key)
	r.deployments.Delete(key)
	r.slotWaiters.Delete(key)
	r.cleanupWaiters.remove(key)
	r.refused.Delete(key)
}

func (r *Reconciler) gate() *build.Gate {
	r.gateOnce.Do(func() {
		if r.Gate == nil {
			r.Gate = build.NewGate()
		}
	})
	return r.Gate
}

// nsLock is the mutex of a namespace's shared build objects.
func (r *Reconciler) nsLock(ns string) *sync.Mutex {
	v, _ := r.nsLocks.LoadOrStore(ns, &sync.Mutex{})
	return v.(*sync.Mutex)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) statusGrace() time.Duration {
	if r.StatusGrace > 0 {
		return r.StatusGrace
	}
	return DefaultStatusGrace
}

func (s *scope) setConfigured(status metav1.ConditionStatus, reason, message string) {
	s.configured = &metav1.Condition{Type: serverlessv1alpha2.ConditionConfigurationReady, Status: status, Reason: reason, Message: message}
}

func (s *scope) setRunning(status metav1.ConditionStatus, reason, message string) {
	s.running = &metav1.Condition{Type: serverlessv1alpha2.ConditionRunning, Status: status, Reason: reason, Message: message}
}

func (s *scope) setBuildReady(status metav1.ConditionStatus, reason, message string) {
	s.buildReady = &metav1.Condition{Type: serverlessv1alpha2.ConditionBuildReady, Status: status, Reason: reason, Message: message}
}

func (s *scope) warn(reason, action, message string) {
	s.warnings = append(s.warnings, warning{reason: reason, action: action, message: message})
}

func (s *scope) requeue(d time.Duration) {
	if d > 0 && (s.requeueAfter == 0 || d < s.requeueAfter) {
		s.requeueAfter = d
	}
}
