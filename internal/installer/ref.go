package installer

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectRef identifies one object applied by the engine.
//
// Two refs denote the same object when group, kind, namespace and name are
// equal: the version only says which API version the object was applied with,
// so moving a kind to a newer version of its group is not a prune.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf returns the ref of an object as it is written in its manifest.
func RefOf(u *unstructured.Unstructured) ObjectRef {
	gvk := u.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// GroupVersionKind returns the kind the object was applied as.
func (r ObjectRef) GroupVersionKind() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// GroupKind returns the API group and kind of the object.
func (r ObjectRef) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.Group, Kind: r.Kind}
}

// String formats the ref as "Kind.group namespace/name" ("Kind" alone for the core group).
func (r ObjectRef) String() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace == "" {
		return kind + " " + r.Name
	}
	return fmt.Sprintf("%s %s/%s", kind, r.Namespace, r.Name)
}

// objectKey is the identity of an object across chart versions: everything
// in a ref except the API version.
type objectKey struct {
	group, kind, namespace, name string
}

func (r ObjectRef) key() objectKey {
	return objectKey{group: r.Group, kind: r.Kind, namespace: r.Namespace, name: r.Name}
}

// Install tiers. Objects are applied in ascending and removed in descending
// tier order.
const (
	tierCRD = iota
	tierNamespace
	tierIdentity
	tierConfig
	tierService
	tierWorkload
	tierOther
)

// tiers maps well-known kinds to their tier. The API group is part of the
// lookup so that a custom kind that happens to be called "Deployment" or
// "Secret" is not mistaken for the built-in one.
var tiers = map[schema.GroupKind]int{
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: tierCRD,

	{Kind: "Namespace"}: tierNamespace,

	{Kind: "ServiceAccount"}:                                         tierIdentity,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        tierIdentity,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: tierIdentity,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               tierIdentity,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        tierIdentity,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:              tierIdentity,

	{Kind: "ConfigMap"}:                             tierConfig,
	{Kind: "Secret"}:                                tierConfig,
	{Kind: "LimitRange"}:                            tierConfig,
	{Kind: "ResourceQuota"}:                         tierConfig,
	{Kind: "PersistentVolume"}:                      tierConfig,
	{Kind: "PersistentVolumeClaim"}:                 tierConfig,
	{Group: "storage.k8s.io", Kind: "StorageClass"}: tierConfig,

	{Kind: "Service"}: tierService,

	{Group: "apps", Kind: "Deployment"}:  tierWorkload,
	{Group: "apps", Kind: "DaemonSet"}:   tierWorkload,
	{Group: "apps", Kind: "StatefulSet"}: tierWorkload,
	{Group: "apps", Kind: "ReplicaSet"}:  tierWorkload,
	{Group: "batch", Kind: "Job"}:        tierWorkload,
	{Group: "batch", Kind: "CronJob"}:    tierWorkload,
	{Kind: "Pod"}:                        tierWorkload,
}

func tierOf(gk schema.GroupKind) int {
	if t, ok := tiers[gk]; ok {
		return t
	}
	return tierOther
}

// compareRefs orders refs by tier, then kind, namespace, name and group.
func compareRefs(a, b ObjectRef) int {
	return cmp.Or(
		cmp.Compare(tierOf(a.GroupKind()), tierOf(b.GroupKind())),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Group, b.Group),
	)
}

// sortForInstall orders objects for applying.
func sortForInstall(objs []*unstructured.Unstructured) {
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		return compareRefs(RefOf(a), RefOf(b))
	})
}

// removalTiers groups refs by tier, highest tier first, for removal.
func removalTiers(refs []ObjectRef) [][]ObjectRef {
	sorted := slices.Clone(refs)
	slices.SortFunc(sorted, func(a, b ObjectRef) int { return compareRefs(b, a) })
	var out [][]ObjectRef
	for i, r := range sorted {
		if i == 0 || tierOf(r.GroupKind()) != tierOf(sorted[i-1].GroupKind()) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], r)
	}
	return out
}
