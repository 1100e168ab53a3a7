package installer

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// find returns the manifest object of the given kind and name, or nil.
func find(m *Manifest, kind, name string) *unstructured.Unstructured {
	for _, o := range m.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}
