package installer

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// ResourcePolicyAnnotation set to "keep" protects an object from removal, as
// it does in Helm.
const ResourcePolicyAnnotation = "helm.sh/resource-policy"

// RetainReason says why an object was not deleted.
type RetainReason string

const (
	// RetainUserData protects PersistentVolumeClaims, PersistentVolumes and
	// Namespaces that still hold claims or Secrets the module did not create.
	RetainUserData RetainReason = "UserData"
	// RetainNotOwned protects objects that no longer carry the module label,
	// such as a Secret a user put in place of the chart's.
	RetainNotOwned RetainReason = "NotOwned"
	// RetainKeepPolicy protects objects annotated with ResourcePolicyAnnotation=keep.
	RetainKeepPolicy RetainReason = "KeepPolicy"
	// RetainInUse protects a CustomResourceDefinition while custom
	// resources of it exist. Unlike the others it stays in the inventory and
	// is removed once unused.
	RetainInUse RetainReason = "InUse"
)

// Retained is an object a protection rule kept.
type Retained struct {
	Ref     ObjectRef
	Reason  RetainReason
	Message string
}

var (
	pvcGroupKind       = schema.GroupKind{Kind: "PersistentVolumeClaim"}
	pvGroupKind        = schema.GroupKind{Kind: "PersistentVolume"}
	namespaceGroupKind = schema.GroupKind{Kind: "Namespace"}
)

// protection applies the rules that need nothing but the object itself.
func protection(ref ObjectRef, obj metav1.Object, module string) *Retained {
	switch ref.GroupKind() {
	case pvcGroupKind, pvGroupKind:
		return &Retained{Ref: ref, Reason: RetainUserData, Message: "persistent volumes hold user data and are never deleted"}
	}
	if got := obj.GetLabels()[ModuleLabel]; got != module {
		return &Retained{Ref: ref, Reason: RetainNotOwned, Message: fmt.Sprintf("label %s is %q, not %q", ModuleLabel, got, module)}
	}
	if obj.GetAnnotations()[ResourcePolicyAnnotation] == "keep" {
		return &Retained{Ref: ref, Reason: RetainKeepPolicy, Message: ResourcePolicyAnnotation + " is keep"}
	}
	return nil
}

// removal is what happened to one object asked to be removed.
type removal int

// outcome of removing one object: what happened, the protection rule that
// kept it if any, and whether a delete request was sent.
type outcome struct {
	removal  removal
	retained *Retained
	deleted  bool
}

const (
	// removalGone: the object does not exist (any more); forget it.
	removalGone removal = iota
	// removalDeleting: deletion is in progress; look again later.
	removalDeleting
	// removalRetained: protected for good; forget it.
	removalRetained
	// removalBlocked: protected while in use; keep it and look again later.
	removalBlocked
)

// remove deletes one recorded object unless a protection rule keeps it. It
// reads metadata only, and deletes with a UID precondition so that an object
// recreated meanwhile by someone else is left alone.
func (e *Engine) remove(ctx context.Context, ref ObjectRef) (outcome, error) {
	live, ref, err := e.getLiveMeta(ctx, ref)
	if isGone(err) {
		return outcome{removal: removalGone}, nil
	}
	if err != nil {
		return outcome{}, err
	}
	if live.GetDeletionTimestamp() != nil {
		return outcome{removal: removalDeleting}, nil
	}
	if r := protection(ref, live, e.opts.Module); r != nil {
		return outcome{removal: removalRetained, retained: r}, nil
	}
	switch ref.GroupKind() {
	case crdGroupKind:
		if msg, err := e.crdInUse(ctx, ref); err != nil || msg != "" {
			return outcome{removal: removalBlocked, retained: &Retained{Ref: ref, Reason: RetainInUse, Message: msg}}, err
		}
	case namespaceGroupKind:
		if msg, err := e.namespaceHoldsUserData(ctx, ref.Name); err != nil || msg != "" {
			return outcome{removal: removalRetained, retained: &Retained{Ref: ref, Reason: RetainUserData, Message: msg}}, err
		}
	}
	uid := live.GetUID()
	live.SetGroupVersionKind(ref.GroupVersionKind())
	err = e.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground),
		client.Preconditions{UID: &uid})
	if isGone(err) {
		return outcome{removal: removalGone}, nil
	}
	if err != nil {
		return outcome{}, err
	}
	log.FromContext(ctx).Info("Deleted object", "object", ref.String())
	if _, err := e.getMeta(ctx, ref); isGone(err) {
		return outcome{removal: removalGone, deleted: true}, nil
	}
	return outcome{removal: removalDeleting, deleted: true}, nil
}

// getLiveMeta reads an object's metadata. When the recorded version is no
// longer served, it retries with the version the API server prefers and
// returns the ref with that version.
func (e *Engine) getLiveMeta(ctx context.Context, ref ObjectRef) (*metav1.PartialObjectMetadata, ObjectRef, error) {
	live, err := e.getMeta(ctx, ref)
	if !meta.IsNoMatchError(err) {
		return live, ref, err
	}
	mapping, err := e.client.RESTMapper().RESTMapping(ref.GroupKind())
	if err != nil {
		return nil, ref, err
	}
	ref.Version = mapping.GroupVersionKind.Version
	live, err = e.getMeta(ctx, ref)
	return live, ref, err
}

// crdInUse describes the custom resources of a CRD that exist, or returns ""
// when there are none.
func (e *Engine) crdInUse(ctx context.Context, ref ObjectRef) (string, error) {
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(ref.GroupVersionKind())
	if err := e.reader.Get(ctx, client.ObjectKey{Name: ref.Name}, crd); err != nil {
		if isGone(err) {
			return "", nil
		}
		return "", fmt.Errorf("read %s: %w", ref, err)
	}
	gvk, ok := servedKind(crd)
	if !ok {
		return "", nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := e.reader.List(ctx, list, client.Limit(1)); err != nil {
		if isGone(err) {
			return "", nil
		}
		return "", fmt.Errorf("list %s: %w", gvk.Kind, err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	example := ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: list.Items[0].GetNamespace(), Name: list.Items[0].GetName()}
	return fmt.Sprintf("custom resources of it exist, e.g. %s", example), nil
}

// servedKind returns the kind a CRD defines at its storage version (or its
// first served one).
func servedKind(crd *unstructured.Unstructured) (schema.GroupVersionKind, bool) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var served string
	for _, v := range versions {
		vm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		name, _, _ := unstructured.NestedString(vm, "name")
		isServed, _, _ := unstructured.NestedBool(vm, "served")
		isStorage, _, _ := unstructured.NestedBool(vm, "storage")
		if isServed && (isStorage || served == "") {
			served = name
		}
	}
	if kind == "" || served == "" {
		return schema.GroupVersionKind{}, false
	}
	return schema.GroupVersionKind{Group: group, Version: served, Kind: kind}, true
}

// namespaceHoldsUserData describes what user data a namespace holds (any
// PersistentVolumeClaim, or a Secret the module did not create), or returns
// "" when it holds none. Deleting the namespace would delete that data.
func (e *Engine) namespaceHoldsUserData(ctx context.Context, namespace string) (string, error) {
	pvcs := &metav1.PartialObjectMetadataList{}
	pvcs.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaimList"})
	if err := e.reader.List(ctx, pvcs, client.InNamespace(namespace), client.Limit(1)); err != nil {
		return "", fmt.Errorf("list PersistentVolumeClaims in %s: %w", namespace, err)
	}
	if len(pvcs.Items) > 0 {
		return fmt.Sprintf("namespace holds PersistentVolumeClaim %s", pvcs.Items[0].Name), nil
	}
	notOurs, err := labels.NewRequirement(ModuleLabel, selection.NotEquals, []string{e.opts.Module})
	if err != nil {
		return "", err
	}
	secrets := &metav1.PartialObjectMetadataList{}
	secrets.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "SecretList"})
	if err := e.reader.List(ctx, secrets, client.InNamespace(namespace), client.Limit(1),
		client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*notOurs)}); err != nil {
		return "", fmt.Errorf("list Secrets in %s: %w", namespace, err)
	}
	if len(secrets.Items) > 0 {
		return fmt.Sprintf("namespace holds Secret %s not created by the module", secrets.Items[0].Name), nil
	}
	return "", nil
}

// removeResult sums up removing a set of objects.
type removeResult struct {
	deleted  int
	retained []Retained
	deleting []ObjectRef
	blocked  bool
	wrote    bool
}

// removeAll removes refs tier by tier, highest first, and writes the
// inventory without the objects that are gone or retained for good. With
// gated set it stops after a tier that still has objects being deleted.
func (e *Engine) removeAll(ctx context.Context, s *storedInventory, refs []ObjectRef, gated bool) (removeResult, error) {
	var res removeResult
	forget := map[objectKey]bool{}
	var errs []error
	for _, tier := range removalTiers(refs) {
		for _, ref := range tier {
			out, err := e.remove(ctx, ref)
			if err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", ref, err))
				continue
			}
			if out.deleted {
				res.deleted++
			}
			if retained := out.retained; retained != nil {
				logger := log.FromContext(ctx)
				if out.removal == removalBlocked {
					// Reported again on every pass until it is unblocked.
					logger = logger.V(1)
				}
				logger.Info("Kept object", "object", ref.String(), "reason", retained.Reason, "detail", retained.Message)
				res.retained = append(res.retained, *retained)
			}
			switch out.removal {
			case removalGone, removalRetained:
				forget[ref.key()] = true
			case removalDeleting:
				res.deleting = append(res.deleting, ref)
			case removalBlocked:
				res.blocked = true
			}
		}
		if gated && (len(res.deleting) > 0 || len(errs) > 0) {
			break
		}
	}
	if len(forget) > 0 {
		wrote, err := e.store(ctx, s, s.without(forget))
		res.wrote = wrote
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// prune removes the stale objects of the inventory.
func (e *Engine) prune(ctx context.Context, s *storedInventory) (removeResult, error) {
	stale := s.staleRefs()
	if len(stale) == 0 {
		return removeResult{}, nil
	}
	return e.removeAll(ctx, s, stale, false)
}
