package installer

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// inventoryKey is the ConfigMap data key holding the encoded inventory.
	inventoryKey = "inventory"
	// inventoryFormat is the encoding version. An engine refuses to act on
	// an inventory written in a format it does not know rather than guess
	// what to prune.
	inventoryFormat = 1
)

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// Inventory is the durable record of what the engine applied.
type Inventory struct {
	// ChartVersion and ValuesHash identify the manifest last applied in
	// full; empty until the first apply completed.
	ChartVersion string `json:"chartVersion,omitempty"`
	ValuesHash   string `json:"valuesHash,omitempty"`
	// Objects are every object the engine may have created and not yet
	// removed, in install order.
	Objects []InventoryEntry `json:"objects"`
}

// InventoryEntry is one recorded object.
type InventoryEntry struct {
	ObjectRef
	// Fingerprint digests the fields the engine's field manager owned right
	// after it applied the object (see Engine.Drifted).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Stale marks an object that is not part of the manifest identified by
	// ChartVersion and ValuesHash: it awaits pruning, is kept by a
	// protection rule, or was recorded before being applied.
	Stale bool `json:"stale,omitempty"`
}

type encodedInventory struct {
	Format int `json:"format"`
	*Inventory
}

func encodeInventory(inv *Inventory) (string, error) {
	b, err := json.Marshal(encodedInventory{Format: inventoryFormat, Inventory: inv})
	if err != nil {
		return "", fmt.Errorf("encode inventory: %w", err)
	}
	return string(b), nil
}

func decodeInventory(data string) (*Inventory, error) {
	enc := encodedInventory{Inventory: &Inventory{}}
	if err := json.Unmarshal([]byte(data), &enc); err != nil {
		return nil, fmt.Errorf("decode inventory: %w", err)
	}
	if enc.Format != inventoryFormat {
		return nil, fmt.Errorf("decode inventory: unsupported format %d (this engine writes %d)", enc.Format, inventoryFormat)
	}
	return enc.Inventory, nil
}

// refs returns the refs of all entries.
func (inv *Inventory) refs() []ObjectRef {
	out := make([]ObjectRef, 0, len(inv.Objects))
	for _, o := range inv.Objects {
		out = append(out, o.ObjectRef)
	}
	return out
}

// staleRefs returns the refs of the stale entries.
func (inv *Inventory) staleRefs() []ObjectRef {
	var out []ObjectRef
	for _, o := range inv.Objects {
		if o.Stale {
			out = append(out, o.ObjectRef)
		}
	}
	return out
}

// without returns a copy of the inventory lacking the given objects.
func (inv *Inventory) without(gone map[objectKey]bool) *Inventory {
	next := *inv
	next.Objects = slices.DeleteFunc(slices.Clone(inv.Objects), func(o InventoryEntry) bool { return gone[o.key()] })
	return &next
}

// withPending returns a copy of the inventory that also records, as stale,
// every desired object it lacks, and whether any was added.
func (inv *Inventory) withPending(desired []ObjectRef) (*Inventory, bool) {
	known := make(map[objectKey]bool, len(inv.Objects))
	for _, o := range inv.Objects {
		known[o.key()] = true
	}
	next := *inv
	next.Objects = slices.Clone(inv.Objects)
	for _, ref := range desired {
		if !known[ref.key()] {
			next.Objects = append(next.Objects, InventoryEntry{ObjectRef: ref, Stale: true})
		}
	}
	sortEntries(next.Objects)
	return &next, len(next.Objects) > len(inv.Objects)
}

// nextInventory records a manifest as applied. Desired objects take the
// fingerprint of this apply or, when they were not re-applied, keep the one
// they had; objects only the old inventory knows stay, marked stale, until
// pruning removes them.
func nextInventory(old *Inventory, chartVersion, valuesHash string, desired []ObjectRef, fingerprints map[objectKey]string) *Inventory {
	next := &Inventory{ChartVersion: chartVersion, ValuesHash: valuesHash}
	previous := make(map[objectKey]InventoryEntry, len(old.Objects))
	for _, o := range old.Objects {
		previous[o.key()] = o
	}
	wanted := make(map[objectKey]bool, len(desired))
	for _, ref := range desired {
		wanted[ref.key()] = true
		entry := InventoryEntry{ObjectRef: ref}
		if fp, ok := fingerprints[ref.key()]; ok {
			entry.Fingerprint = fp
		} else if p, ok := previous[ref.key()]; ok && !p.Stale {
			entry.Fingerprint = p.Fingerprint
		}
		next.Objects = append(next.Objects, entry)
	}
	for _, o := range old.Objects {
		if !wanted[o.key()] {
			next.Objects = append(next.Objects, InventoryEntry{ObjectRef: o.ObjectRef, Stale: true})
		}
	}
	sortEntries(next.Objects)
	return next
}

func sortEntries(entries []InventoryEntry) {
	slices.SortFunc(entries, func(a, b InventoryEntry) int { return compareRefs(a.ObjectRef, b.ObjectRef) })
}

// storedInventory is an inventory together with the ConfigMap it was read
// from (nil when there is none yet).
type storedInventory struct {
	*Inventory
	cm *unstructured.Unstructured
}

// loadInventory reads the inventory with the uncached reader: it decides
// what gets pruned, so it must never be stale. A missing inventory yields an
// empty one.
func (e *Engine) loadInventory(ctx context.Context) (*storedInventory, error) {
	cm := &unstructured.Unstructured{}
	cm.SetGroupVersionKind(configMapGVK)
	key := client.ObjectKey{Namespace: e.opts.InventoryNamespace, Name: e.opts.InventoryName}
	if err := e.reader.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return &storedInventory{Inventory: &Inventory{}}, nil
		}
		return nil, fmt.Errorf("read inventory %s: %w", key, err)
	}
	data, _, err := unstructured.NestedString(cm.Object, "data", inventoryKey)
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", key, err)
	}
	if data == "" {
		return &storedInventory{Inventory: &Inventory{}, cm: cm}, nil
	}
	inv, err := decodeInventory(data)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", key, err)
	}
	return &storedInventory{Inventory: inv, cm: cm}, nil
}

// store writes inv unless it is what the ConfigMap already holds, and
// reports whether it wrote. Updates carry the resourceVersion that was read,
// so a concurrent writer makes this fail instead of losing entries.
func (e *Engine) store(ctx context.Context, s *storedInventory, inv *Inventory) (bool, error) {
	data, err := encodeInventory(inv)
	if err != nil {
		return false, err
	}
	key := client.ObjectKey{Namespace: e.opts.InventoryNamespace, Name: e.opts.InventoryName}
	if s.cm == nil {
		cm := &unstructured.Unstructured{}
		cm.SetGroupVersionKind(configMapGVK)
		cm.SetNamespace(key.Namespace)
		cm.SetName(key.Name)
		cm.SetLabels(e.labels())
		if err := unstructured.SetNestedField(cm.Object, data, "data", inventoryKey); err != nil {
			return false, fmt.Errorf("write inventory %s: %w", key, err)
		}
		if err := e.client.Create(ctx, cm, client.FieldOwner(e.opts.FieldManager)); err != nil {
			return false, fmt.Errorf("create inventory %s: %w", key, err)
		}
		s.cm, s.Inventory = cm, inv
		return true, nil
	}
	if current, _, _ := unstructured.NestedString(s.cm.Object, "data", inventoryKey); current == data {
		s.Inventory = inv
		return false, nil
	}
	cm := s.cm.DeepCopy()
	if err := unstructured.SetNestedField(cm.Object, data, "data", inventoryKey); err != nil {
		return false, fmt.Errorf("write inventory %s: %w", key, err)
	}
	if err := e.client.Update(ctx, cm, client.FieldOwner(e.opts.FieldManager)); err != nil {
		return false, fmt.Errorf("update inventory %s: %w", key, err)
	}
	s.cm, s.Inventory = cm, inv
	return true, nil
}

// Inventory returns the recorded inventory, or nil when there is none.
func (e *Engine) Inventory(ctx context.Context) (*Inventory, error) {
	s, err := e.loadInventory(ctx)
	if err != nil || s.cm == nil {
		return nil, err
	}
	return s.Inventory, nil
}

// OwnedKinds returns the kinds of the recorded objects, sorted, so that a
// controller can watch them.
func (e *Engine) OwnedKinds(ctx context.Context) ([]schema.GroupVersionKind, error) {
	s, err := e.loadInventory(ctx)
	if err != nil {
		return nil, err
	}
	var kinds []schema.GroupVersionKind
	for _, o := range s.Objects {
		if gvk := o.GroupVersionKind(); !slices.Contains(kinds, gvk) {
			kinds = append(kinds, gvk)
		}
	}
	slices.SortFunc(kinds, func(a, b schema.GroupVersionKind) int {
		return cmp.Or(
			compareRefs(ObjectRef{Group: a.Group, Kind: a.Kind}, ObjectRef{Group: b.Group, Kind: b.Kind}),
			cmp.Compare(a.Version, b.Version),
		)
	})
	return kinds, nil
}

// labels are the labels the engine puts on everything it writes.
func (e *Engine) labels() map[string]string {
	l := map[string]string{ModuleLabel: e.opts.Module}
	if e.opts.ManagedBy != "" {
		l[ManagedByLabel] = e.opts.ManagedBy
	}
	return l
}
