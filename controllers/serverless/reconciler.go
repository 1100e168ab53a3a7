// Package serverless reconciles the Serverless CR: it installs, configures,
// upgrades and uninstalls the Serverless components from charts/serverless.
package serverless

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
	"github.com/kyma-serverless/serverless/internal/installer"
	"github.com/kyma-serverless/serverless/internal/writememo"
)

const (
	// FieldManager owns every field the operator applies.
	FieldManager = "serverless-operator"
	// ModuleName labels every applied object (kyma-project.io/module).
	ModuleName = "serverless"
	// releaseName names the rendered chart release and its inventory.
	releaseName = "serverless"

	requeueWhileInstalling = 10 * time.Second
	requeueWhileDeleting   = 2 * time.Second
)

// Reconciler reconciles Serverless objects.
type Reconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	// ChartDir is the directory of the chart this operator version ships.
	ChartDir string
	// Getenv reads image overrides; os.Getenv when nil.
	Getenv func(string) string
	// NewEngine builds the install engine for a namespace; a seam for tests.
	NewEngine func(namespace string) *installer.Engine

	metrics *metrics
	// written is the status this process wrote last, by the Serverless UID.
	written writememo.Memo[operatorv1alpha1.ServerlessStatus]
}

// scope carries what one reconcile learns from step to step.
type scope struct {
	obj      *operatorv1alpha1.Serverless
	engine   *installer.Engine
	config   effectiveConfig
	manifest *installer.Manifest
	// gone is set once the finalizer is removed: the object may no longer exist.
	gone bool
}

type step func(ctx context.Context, s *scope) (ctrl.Result, error)

// errStop ends the step list without an error: the step already recorded why.
var errStop = errors.New("stop")

// +kubebuilder:rbac:groups=operator.kyma-project.io,resources=serverlesses,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=operator.kyma-project.io,resources=serverlesses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=operator.kyma-project.io,resources=serverlesses/finalizers,verbs=update
// +kubebuilder:rbac:groups=serverless.kyma-project.io,resources=functions,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings;roles;rolebindings,verbs=get;list;watch;create;update;patch;delete;bind;escalate
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=scheduling.k8s.io,resources=priorityclasses,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// Reconcile runs the Serverless state machine: served filter, deletion or
// finalizer, configure, render, apply (with prune), verify. Status is derived
// from the conditions and patched once, at the end, only when it changed.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	obj := &operatorv1alpha1.Serverless{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope{obj: obj, engine: r.NewEngine(obj.Namespace)}
	before := obj.DeepCopy()
	defer func() {
		if s.gone {
			return
		}
		if perr := r.patchStatus(ctx, s, before); perr != nil {
			err = errors.Join(err, perr)
		}
		r.metrics.observe(obj, before, err)
	}()

	served, err := r.ensureServed(ctx, obj)
	if err != nil || !served {
		if err == nil && !obj.DeletionTimestamp.IsZero() {
			return ctrl.Result{}, r.removeFinalizer(ctx, s)
		}
		return ctrl.Result{}, err
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	if err := r.ensureFinalizer(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	return runSteps(ctx, s, r.configure, r.render, r.apply, r.verify)
}

// runSteps runs the steps in order and stops at the first one that asks to
// requeue, fails, or stops.
func runSteps(ctx context.Context, s *scope, steps ...step) (ctrl.Result, error) {
	for _, st := range steps {
		res, err := st(ctx, s)
		if errors.Is(err, errStop) {
			return res, nil
		}
		if err != nil || !res.IsZero() {
			return res, err
		}
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) ensureFinalizer(ctx context.Context, obj *operatorv1alpha1.Serverless) error {
	if controllerutil.ContainsFinalizer(obj, operatorv1alpha1.Finalizer) {
		return nil
	}
	// Patch a copy: the response carries the stored status, which must not
	// overwrite what this reconcile has already decided.
	patched := obj.DeepCopy()
	controllerutil.AddFinalizer(patched, operatorv1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, patched, client.MergeFrom(obj)); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	obj.Finalizers, obj.ResourceVersion = patched.Finalizers, patched.ResourceVersion
	return nil
}

func (r *Reconciler) removeFinalizer(ctx context.Context, s *scope) error {
	if !controllerutil.ContainsFinalizer(s.obj, operatorv1alpha1.Finalizer) {
		s.gone = true
		return nil
	}
	patched := s.obj.DeepCopy()
	controllerutil.RemoveFinalizer(patched, operatorv1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, patched, client.MergeFrom(s.obj)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	s.gone = true
	return nil
}

// configure resolves the desired configuration and records it in status.
func (r *Reconciler) configure(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	mode, problem := desiredMode(obj.Annotations, obj.Status.BuildlessMode)
	tracing, err := r.detectTracing(ctx, obj.Spec)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.config = resolveConfig(obj.Spec, mode, tracing)
	s.config.writeStatus(&obj.Status)
	if problem != "" {
		setCondition(obj, operatorv1alpha1.ConditionConfigured, metav1.ConditionFalse, operatorv1alpha1.ReasonInvalidBuildlessMode, problem)
		return ctrl.Result{}, nil
	}
	setCondition(obj, operatorv1alpha1.ConditionConfigured, metav1.ConditionTrue, operatorv1alpha1.ReasonConfigured,
		fmt.Sprintf("configuration applied, buildless mode %s", mode))
	return ctrl.Result{}, nil
}

// detectTracing finds Kyma's telemetry trace gateway when the spec has no
// tracing section, so tracing works out of the box next to the Telemetry module.
func (r *Reconciler) detectTracing(ctx context.Context, spec operatorv1alpha1.ServerlessSpec) (string, error) {
	if spec.Tracing != nil {
		return "", nil
	}
	svc := &metav1.PartialObjectMetadata{}
	svc.SetGroupVersionKind(corev1Service)
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: tracingServiceNamespace, Name: tracingServiceName}, svc)
	switch {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look up tracing service %s/%s: %w", tracingServiceNamespace, tracingServiceName, err)
	}
	return fmt.Sprintf(tracingEndpointTemplate, tracingServiceName, tracingServiceNamespace), nil
}

func (r *Reconciler) render(_ context.Context, s *scope) (ctrl.Result, error) {
	values, err := s.config.values(r.getenv())
	if err == nil {
		s.manifest, err = installer.Render(installer.Release{
			ChartDir: r.ChartDir, Name: releaseName, Namespace: s.obj.Namespace, Values: values,
		})
	}
	if err != nil {
		setCondition(s.obj, operatorv1alpha1.ConditionInstalled, metav1.ConditionFalse, operatorv1alpha1.ReasonRenderFailed,
			fmt.Sprintf("rendering chart %s failed: %v", r.ChartDir, err))
		return ctrl.Result{}, fmt.Errorf("render chart: %w", err)
	}
	s.obj.Status.ChartVersion = s.manifest.ChartVersion
	return ctrl.Result{}, nil
}

func (r *Reconciler) apply(ctx context.Context, s *scope) (ctrl.Result, error) {
	res, err := s.engine.Apply(ctx, s.manifest)
	if err != nil {
		setCondition(s.obj, operatorv1alpha1.ConditionInstalled, metav1.ConditionFalse, operatorv1alpha1.ReasonApplyFailed, err.Error())
		return ctrl.Result{}, fmt.Errorf("apply chart: %w", err)
	}
	if !res.UpToDate {
		log.FromContext(ctx).Info("Applied chart", "version", s.manifest.ChartVersion,
			"applied", res.Applied, "pruned", res.Pruned, "kept", res.Skipped)
	}
	return ctrl.Result{}, nil
}

// verify reads readiness from the objects' own status. Owned objects are
// watched, so a change wakes the reconcile; the requeue is only a safety net.
func (r *Reconciler) verify(ctx context.Context, s *scope) (ctrl.Result, error) {
	readiness, err := s.engine.Verify(ctx)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("verify installation: %w", err)
	}
	if failed := readiness.Failed(); len(failed) > 0 {
		setCondition(s.obj, operatorv1alpha1.ConditionDeploymentFailure, metav1.ConditionTrue, operatorv1alpha1.ReasonDeploymentFailed,
			describe(failed))
	} else {
		meta.RemoveStatusCondition(&s.obj.Status.Conditions, operatorv1alpha1.ConditionDeploymentFailure)
	}
	if !readiness.Ready {
		setCondition(s.obj, operatorv1alpha1.ConditionInstalled, metav1.ConditionFalse, operatorv1alpha1.ReasonInstalling,
			"waiting for "+describe(readiness.NotReady))
		return ctrl.Result{RequeueAfter: requeueWhileInstalling}, nil
	}
	setCondition(s.obj, operatorv1alpha1.ConditionInstalled, metav1.ConditionTrue, operatorv1alpha1.ReasonInstalled,
		fmt.Sprintf("chart %s installed and ready", s.manifest.ChartVersion))
	return ctrl.Result{}, nil
}

func (r *Reconciler) patchStatus(ctx context.Context, s *scope, before *operatorv1alpha1.Serverless) error {
	obj := s.obj
	obj.Status.State = summarizeState(obj)
	if equalStatus(before.Status, obj.Status) || r.alreadyWritten(before, obj.Status) {
		return nil
	}
	emitConditionEvents(r.Recorder, obj, before.Status.Conditions)
	if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patch status: %w", err)
	}
	r.written.Record(string(obj.UID), string(obj.UID), obj.ResourceVersion, *obj.Status.DeepCopy())
	return nil
}

// alreadyWritten is true when desired is the status this process wrote last and the cached
// object predates that write: events caused by that write can start a reconcile from a cache
// that does not show it yet.
func (r *Reconciler) alreadyWritten(cached *operatorv1alpha1.Serverless, desired operatorv1alpha1.ServerlessStatus) bool {
	last, ok := r.written.Ahead(string(cached.UID), string(cached.UID), cached.ResourceVersion)
	return ok && equalStatus(last, desired)
}

func (r *Reconciler) getenv() func(string) string {
	if r.Getenv != nil {
		return r.Getenv
	}
	return os.Getenv
}
