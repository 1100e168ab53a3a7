package function

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// maxEventNote is the longest note an events.k8s.io Event accepts, less some room.
const maxEventNote = 1000

// waitState is when the controller first saw the current rollout of a Function.
type waitState struct {
	uid   types.UID
	hash  string
	since time.Time
}

// emittedEvent is the last set of Warning Events of a Function.
type emittedEvent struct {
	uid types.UID
	key string
}

// report emits the Warning Events of this reconcile and writes the status, each only when it
// changed. While a Deployment rolls out, the status is held back: for the grace period, so a
// Function that becomes available quickly costs one status write, and for as long as a
// rollout the Function did not ask for keeps every replica available (a mode switch, new
// runtime images), so that it costs one write at the end.
func (r *Reconciler) report(ctx context.Context, s *scope) error {
	fn := s.fn
	key := client.ObjectKeyFromObject(fn)
	r.emitWarnings(s)
	if s.configured == nil && s.running == nil && s.buildReady == nil && !s.dropBuildReady {
		return nil // nothing learned (a transient error): the status stays as it is
	}

	// the cached Function may not show the controller's last status write yet
	current := fn.Status
	if last, ok := r.written.Ahead(string(fn.UID), string(fn.UID), fn.ResourceVersion); ok {
		current = last
	}
	desired := s.status(&current)
	if equality.Semantic.DeepEqual(current, desired) {
		return nil
	}
	if s.inProgress() {
		if s.servingRollout(current, desired) {
			return nil
		}
		since := r.waitingSince(key, fn.UID, s.tag+"/"+s.deploymentHash)
		if remaining := r.statusGrace() - r.now().Sub(since); remaining > 0 {
			s.requeue(remaining)
			return nil
		}
	} else if s.running != nil || s.buildReady != nil {
		r.waiting.Delete(key)
	}

	base := fn.DeepCopy()
	base.Status = current
	patched := base.DeepCopy()
	patched.Status = desired
	if err := r.Client.Status().Patch(ctx, patched, client.MergeFrom(base)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("write status: %w", err)
	}
	r.written.Record(string(fn.UID), string(fn.UID), patched.ResourceVersion, desired)
	return nil
}

// servingRollout reports whether the only news in desired is a rollout in progress while the
// Function keeps running: its status says Running, every desired replica is available, and
// the Function's current generation is already reported, so the rollout is not something the
// user just asked for.
func (s *scope) servingRollout(current, desired serverlessv1alpha2.FunctionStatus) bool {
	if current.ObservedGeneration != s.fn.Generation || s.running == nil || s.running.Status != metav1.ConditionUnknown {
		return false
	}
	running := meta.FindStatusCondition(current.Conditions, serverlessv1alpha2.ConditionRunning)
	if running == nil || running.Status != metav1.ConditionTrue {
		return false
	}
	d := s.deployment
	if d == nil || d.Name == "" {
		return false
	}
	want := desiredReplicas(d)
	if d.Status.AvailableReplicas < want {
		return false
	}
	held := *desired.DeepCopy()
	meta.SetStatusCondition(&held.Conditions, *running)
	held.Replicas = current.Replicas
	return equality.Semantic.DeepEqual(current, held)
}

// inProgress reports whether the Function waits for its build or its rollout, and nothing
// has failed: the status may then be held back for the grace period.
func (s *scope) inProgress() bool {
	pending := false
	for _, c := range []*metav1.Condition{s.configured, s.buildReady, s.running} {
		switch {
		case c == nil:
		case c.Status == metav1.ConditionFalse:
			return false
		case c.Status == metav1.ConditionUnknown:
			pending = true
		}
	}
	return pending
}

// status is base updated with what this reconcile found out.
func (s *scope) status(base *serverlessv1alpha2.FunctionStatus) serverlessv1alpha2.FunctionStatus {
	fn := s.fn
	st := *base.DeepCopy()
	for _, c := range []*metav1.Condition{s.configured, s.buildReady, s.running} {
		if c == nil {
			continue
		}
		cond := *c
		cond.ObservedGeneration = fn.Generation
		meta.SetStatusCondition(&st.Conditions, cond)
	}
	if s.dropBuildReady {
		meta.RemoveStatusCondition(&st.Conditions, serverlessv1alpha2.ConditionBuildReady)
	}
	if s.rt.Name != "" {
		st.Runtime = fn.Spec.Runtime
	}
	if s.runtimeImage != "" {
		st.RuntimeImage = s.runtimeImage
	}
	if s.deployment != nil && s.deployment.Name != "" {
		st.Replicas = s.deployment.Status.Replicas
		st.PodSelector = workload.PodSelector(fn)
	}
	if git := fn.Spec.Source.GitRepository; git != nil {
		if s.gitResolved {
			st.Commit, st.Reference, st.BaseDir = s.commit, git.Reference, git.BaseDir
		}
	} else {
		st.Commit, st.Reference, st.BaseDir = "", "", ""
	}
	st.ObservedGeneration = fn.Generation
	return st
}

// waitingSince returns when the rollout of the Deployment with the given hash was first seen.
func (r *Reconciler) waitingSince(key types.NamespacedName, uid types.UID, hash string) time.Time {
	if v, ok := r.waiting.Load(key); ok {
		if w := v.(waitState); w.uid == uid && w.hash == hash {
			return w.since
		}
	}
	now := r.now()
	r.waiting.Store(key, waitState{uid: uid, hash: hash, since: now})
	return now
}

// emitWarnings records the scope's warnings as Warning Events, once per change: not again
// while they stay the same, and not when the status already reports them (after a restart).
func (r *Reconciler) emitWarnings(s *scope) {
	key := client.ObjectKeyFromObject(s.fn)
	if len(s.warnings) == 0 {
		r.emitted.Delete(key)
		return
	}
	parts := make([]string, 0, len(s.warnings))
	for _, w := range s.warnings {
		parts = append(parts, w.reason+"\x00"+w.message)
	}
	sig := strings.Join(parts, "\x01")
	if v, ok := r.emitted.Load(key); ok {
		if e := v.(emittedEvent); e.uid == s.fn.UID && e.key == sig {
			return
		}
	}
	for _, w := range s.warnings {
		if reported(s.fn.Status.Conditions, w) {
			continue
		}
		note := w.message
		if len(note) > maxEventNote {
			note = note[:maxEventNote-3] + "..."
		}
		r.Recorder.Eventf(s.fn, nil, corev1.EventTypeWarning, w.reason, w.action, "%s", note)
	}
	r.emitted.Store(key, emittedEvent{uid: s.fn.UID, key: sig})
}

func reported(conds []metav1.Condition, w warning) bool {
	for _, c := range conds {
		if c.Reason == w.reason && c.Message == w.message {
			return true
		}
	}
	return false
}
