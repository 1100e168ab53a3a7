package installer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

var crdGroupKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// How long Apply waits for the kinds of CRDs it just applied to be served.
const (
	kindPollInterval = 200 * time.Millisecond
	kindTimeout      = 30 * time.Second
)

// ApplyResult summarizes one Apply.
type ApplyResult struct {
	// Applied counts the objects written with server-side apply.
	Applied int
	// Pruned counts the objects dropped by the chart that were deleted.
	Pruned int
	// Skipped counts the manifest objects not written because they were in sync.
	Skipped int
	// UpToDate is true when the call wrote nothing at all.
	UpToDate bool
	// Drifted lists the objects re-applied because they had drifted.
	Drifted []ObjectRef
	// Retained lists dropped objects a protection rule kept.
	Retained []Retained
	// Deleting lists dropped objects whose deletion is still in progress.
	Deleting []ObjectRef
}

// Apply installs or upgrades the manifest and prunes what it no longer holds.
//
//  1. When the inventory records the same ChartVersion and ValuesHash and no
//     object drifted, nothing is written.
//  2. Otherwise every object (or, when only drift was found, every drifted
//     object) is server-side applied with forced ownership, carrying
//     ModuleLabel and ManagedByLabel. Objects that may be created are
//     recorded in the inventory before they are applied.
//  3. The inventory is written, keeping the objects the manifest dropped.
//  4. Dropped objects are deleted unless protected (see Retained), and
//     forgotten once gone.
//
// An error leaves the inventory a superset of what exists; calling Apply
// again resumes.
func (e *Engine) Apply(ctx context.Context, m *Manifest) (ApplyResult, error) {
	var res ApplyResult
	if m == nil {
		return res, errors.New("apply: no manifest")
	}
	logger := log.FromContext(ctx)
	desired, err := e.prepare(m)
	if err != nil {
		return res, err
	}
	refs := make([]ObjectRef, len(desired))
	for i, o := range desired {
		refs[i] = RefOf(o)
	}
	s, err := e.loadInventory(ctx)
	if err != nil {
		return res, err
	}
	wrote := false

	toApply := desired
	if s.cm != nil && s.ChartVersion == m.ChartVersion && s.ValuesHash == m.ValuesHash {
		res.Drifted, err = e.drifted(ctx, s.Inventory)
		if err != nil {
			return res, err
		}
		toApply = selectObjects(desired, res.Drifted)
	} else {
		for _, h := range m.Hooks {
			logger.Info("Skipping Helm hook: hooks are not run", "object", h.String())
		}
		if pending, added := s.withPending(refs); added {
			if wrote, err = e.store(ctx, s, pending); err != nil {
				return res, err
			}
		}
	}

	fingerprints := make(map[objectKey]string, len(toApply))
	scopes := crdScopes(desired)
	served := map[schema.GroupVersionKind]bool{}
	for _, obj := range toApply {
		ref := RefOf(obj)
		if _, ownCRD := scopes[ref.GroupKind()]; ownCRD && !served[ref.GroupVersionKind()] {
			if err := e.awaitKind(ctx, ref.GroupVersionKind()); err != nil {
				return res, fmt.Errorf("apply %s: %w", ref, err)
			}
			served[ref.GroupVersionKind()] = true
		}
		fp, err := e.applyObject(ctx, obj)
		if err != nil {
			return res, fmt.Errorf("apply %s: %w", ref, err)
		}
		logger.V(1).Info("Applied object", "object", ref.String())
		fingerprints[ref.key()] = fp
		res.Applied++
	}
	res.Skipped = len(desired) - res.Applied

	stored, err := e.store(ctx, s, nextInventory(s.Inventory, m.ChartVersion, m.ValuesHash, refs, fingerprints))
	if err != nil {
		return res, err
	}
	wrote = wrote || stored

	pr, err := e.prune(ctx, s)
	res.Pruned, res.Retained, res.Deleting = pr.deleted, pr.retained, pr.deleting
	res.UpToDate = res.Applied == 0 && res.Pruned == 0 && !wrote && !pr.wrote
	return res, err
}

// prepare copies the manifest's objects and completes them for applying:
// namespaced objects without a namespace get the release namespace, cluster
// scoped ones lose any namespace, and all get the engine's labels.
func (e *Engine) prepare(m *Manifest) ([]*unstructured.Unstructured, error) {
	scopes := crdScopes(m.Objects)
	out := make([]*unstructured.Unstructured, 0, len(m.Objects))
	for _, o := range m.Objects {
		u := o.DeepCopy()
		namespaced, known := scopes[u.GroupVersionKind().GroupKind()]
		if !known {
			var err error
			if namespaced, err = e.client.IsObjectNamespaced(u); err != nil {
				return nil, fmt.Errorf("scope of %s: %w", RefOf(u), err)
			}
		}
		switch {
		case !namespaced:
			u.SetNamespace("")
		case u.GetNamespace() == "":
			u.SetNamespace(m.Namespace)
		}
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		maps.Copy(l, e.labels())
		u.SetLabels(l)
		out = append(out, u)
	}
	if err := checkUnique(out); err != nil {
		return nil, err
	}
	return out, nil
}

// crdScopes returns whether the kinds defined by the manifest's CRDs are
// namespaced: the API server cannot tell before the CRDs are applied.
func crdScopes(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	scopes := map[schema.GroupKind]bool{}
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != crdGroupKind {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		if kind != "" {
			scopes[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return scopes
}

func selectObjects(objs []*unstructured.Unstructured, refs []ObjectRef) []*unstructured.Unstructured {
	want := make(map[objectKey]bool, len(refs))
	for _, r := range refs {
		want[r.key()] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if want[RefOf(o).key()] {
			out = append(out, o)
		}
	}
	return out
}

// awaitKind waits until the API server serves a kind defined by a CRD of
// the manifest: a custom resource can only be applied once its CRD is
// established.
func (e *Engine) awaitKind(ctx context.Context, gvk schema.GroupVersionKind) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, kindPollInterval, kindTimeout, true, func(context.Context) (bool, error) {
		_, last = e.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kind %s not served yet: %w", gvk, errors.Join(err, last))
	}
	return nil
}

// applyObject server-side applies obj and returns the fingerprint of the
// fields the engine owns afterwards.
func (e *Engine) applyObject(ctx context.Context, obj *unstructured.Unstructured) (string, error) {
	u := obj.DeepCopy()
	if err := e.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(e.opts.FieldManager), client.ForceOwnership); err != nil {
		return "", err
	}
	return fingerprint(u.GetManagedFields(), e.opts.FieldManager), nil
}
