// Package installer installs a rendered Helm chart with server-side apply and
// keeps it installed: it records what it applied in a durable inventory,
// repairs drift, prunes what a new chart version dropped (group-aware, never
// user data), reports readiness and uninstalls.
//
// The engine holds no state between calls; every call observes the cluster
// again, so calls are idempotent and may be repeated after any failure.
//
// Reads of applied objects go through the client given to New, which is
// meant to be backed by a cache restricted to objects labelled with
// ModuleLabel (see OwnedLabelSelector). Typed kinds known to the client's
// scheme are read as typed objects so they share the informers of the
// operator's watches. Drift detection needs managedFields: the cache must not
// strip them.
package installer

import (
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

const (
	// ModuleLabel is set on every applied object and on the inventory; its
	// value is Options.Module.
	ModuleLabel = "kyma-project.io/module"
	// ManagedByLabel is set on every applied object; its value is Options.ManagedBy.
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// Options configure an Engine.
type Options struct {
	// FieldManager is the server-side apply field manager.
	FieldManager string
	// Module is the value of ModuleLabel on every applied object.
	Module string
	// ManagedBy is the value of ManagedByLabel on every applied object.
	ManagedBy string
	// InventoryNamespace and InventoryName name the ConfigMap holding the
	// inventory. The namespace must exist.
	InventoryNamespace, InventoryName string
}

// Engine installs one release. It is safe for concurrent use but a release
// must be driven by one caller at a time.
type Engine struct {
	client client.Client
	reader client.Reader
	opts   Options
}

// New returns an Engine. c reads owned objects (cached) and writes; reader is
// an uncached reader for the inventory and one-off checks.
func New(c client.Client, reader client.Reader, opts Options) *Engine {
	return &Engine{client: c, reader: reader, opts: opts}
}

// OwnedLabelSelector selects the objects a module's engine applied. Restrict
// the operator's cache with it.
func OwnedLabelSelector(module string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{ModuleLabel: module})
}

// DriftPredicate passes creations, deletions and those updates that change
// the fields fieldManager applied, which is what Engine.Drifted looks at.
// Status updates and changes to fields owned by others are filtered out.
func DriftPredicate(fieldManager string) predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			return fingerprint(e.ObjectOld.GetManagedFields(), fieldManager) !=
				fingerprint(e.ObjectNew.GetManagedFields(), fieldManager)
		},
	}
}
