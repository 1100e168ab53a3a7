package installer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// fingerprint digests the fields manager owns on the main resource through
// server-side apply. Entries of other managers, of Update operations and of
// subresources such as status do not take part, so a controller updating
// status or a field the chart does not set leaves it unchanged. It is empty
// when manager owns nothing.
func fingerprint(entries []metav1.ManagedFieldsEntry, manager string) string {
	var parts [][]byte
	for _, e := range entries {
		if e.Manager != manager || e.Operation != metav1.ManagedFieldsOperationApply || e.Subresource != "" {
			continue
		}
		fields := []byte("{}")
		if raw := e.FieldsV1.GetRawBytes(); raw != nil {
			fields = canonicalJSON(raw)
		}
		parts = append(parts, fields)
	}
	if len(parts) == 0 {
		return ""
	}
	slices.SortFunc(parts, bytes.Compare)
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes JSON with sorted keys; invalid JSON is returned as is.
func canonicalJSON(raw []byte) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// Drifted returns the recorded objects of the current manifest that are
// missing, being deleted, or whose fields owned by the engine's field manager
// no longer match what the last apply left (someone else changed a field the
// chart sets and so took it over). It only reads: owned objects come from the
// cache, and a suspected drift is confirmed with the uncached reader so that
// a lagging cache does not trigger a write.
func (e *Engine) Drifted(ctx context.Context) ([]ObjectRef, error) {
	s, err := e.loadInventory(ctx)
	if err != nil {
		return nil, err
	}
	return e.drifted(ctx, s.Inventory)
}

func (e *Engine) drifted(ctx context.Context, inv *Inventory) ([]ObjectRef, error) {
	var out []ObjectRef
	for _, entry := range inv.Objects {
		if entry.Stale {
			continue
		}
		ok, err := e.inSync(ctx, entry)
		if err != nil {
			return nil, fmt.Errorf("check drift of %s: %w", entry.ObjectRef, err)
		}
		if !ok {
			out = append(out, entry.ObjectRef)
		}
	}
	return out, nil
}

func (e *Engine) inSync(ctx context.Context, entry InventoryEntry) (bool, error) {
	if entry.Fingerprint == "" {
		return false, nil
	}
	obj, err := e.getCached(ctx, entry.ObjectRef)
	switch {
	case err == nil:
		if matches(obj, entry.Fingerprint, e.opts.FieldManager) {
			return true, nil
		}
	case !isGone(err):
		return false, err
	}
	live, err := e.getMeta(ctx, entry.ObjectRef)
	if isGone(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return matches(live, entry.Fingerprint, e.opts.FieldManager), nil
}

func matches(obj metav1.Object, fp, manager string) bool {
	return obj.GetDeletionTimestamp() == nil && fingerprint(obj.GetManagedFields(), manager) == fp
}

// isGone reports errors meaning the object does not exist, including its
// kind no longer being served.
func isGone(err error) bool {
	return apierrors.IsNotFound(err) || meta.IsNoMatchError(err)
}

// newObject returns an empty object of gvk: typed when the client's scheme
// knows the kind, so that cached reads share the operator's typed informers,
// unstructured otherwise.
func (e *Engine) newObject(gvk schema.GroupVersionKind) client.Object {
	if scheme := e.client.Scheme(); scheme != nil && scheme.Recognizes(gvk) {
		if o, err := scheme.New(gvk); err == nil {
			if obj, ok := o.(client.Object); ok {
				obj.GetObjectKind().SetGroupVersionKind(gvk)
				return obj
			}
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}

// getCached reads an owned object through the (cached) client.
func (e *Engine) getCached(ctx context.Context, ref ObjectRef) (client.Object, error) {
	obj := e.newObject(ref.GroupVersionKind())
	if err := e.client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// getMeta reads an object's metadata with the uncached reader; Secret data
// is never fetched.
func (e *Engine) getMeta(ctx context.Context, ref ObjectRef) (*metav1.PartialObjectMetadata, error) {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(ref.GroupVersionKind())
	if err := e.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// toUnstructured converts a typed object for status computation.
func toUnstructured(obj client.Object, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}
