package installer

import (
	"testing"

	. "github.com/onsi/gomega"
)

var (
	coreConfigMap  = ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "settings"}
	otherConfigMap = ObjectRef{Group: "other.example.test", Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "settings"}
	deployment     = ObjectRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "app"}
	hpaV2beta2     = ObjectRef{Group: "autoscaling", Version: "v2beta2", Kind: "HorizontalPodAutoscaler", Namespace: "ns", Name: "app"}
	hpaV2          = ObjectRef{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler", Namespace: "ns", Name: "app"}
	widgetsCRD     = ObjectRef{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.test"}
)

func TestInventoryEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		inv  *Inventory
	}{
		{name: "empty", inv: &Inventory{}},
		{name: "full", inv: &Inventory{ChartVersion: "1.2.3", ValuesHash: "abc", Objects: []InventoryEntry{
			{ObjectRef: widgetsCRD, Fingerprint: "f1"},
			{ObjectRef: coreConfigMap, Fingerprint: "f2"},
			{ObjectRef: otherConfigMap, Stale: true},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			data, err := encodeInventory(tt.inv)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(data).To(ContainSubstring(`"format":1`))
			got, err := decodeInventory(data)
			g.Expect(err).NotTo(HaveOccurred())
			if len(tt.inv.Objects) == 0 {
				g.Expect(got.Objects).To(BeEmpty())
				got.Objects = tt.inv.Objects
			}
			g.Expect(got).To(Equal(tt.inv))
		})
	}
}

func TestInventoryEncodingIsStable(t *testing.T) {
	g := NewWithT(t)
	inv := &Inventory{ChartVersion: "1", ValuesHash: "h", Objects: []InventoryEntry{{ObjectRef: deployment, Fingerprint: "x"}}}
	a, err := encodeInventory(inv)
	g.Expect(err).NotTo(HaveOccurred())
	b, err := encodeInventory(inv)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(a).To(Equal(b))
	g.Expect(a).To(Equal(`{"format":1,"chartVersion":"1","valuesHash":"h","objects":[{"group":"apps","version":"v1","kind":"Deployment","namespace":"ns","name":"app","fingerprint":"x"}]}`))
}

func TestInventoryDecodeRejects(t *testing.T) {
	tests := []struct {
		name, data, wantErr string
	}{
		{name: "garbage", data: "not json", wantErr: "decode inventory"},
		{name: "newer format", data: `{"format":2,"objects":[]}`, wantErr: "unsupported format 2"},
		{name: "no format", data: `{"objects":[]}`, wantErr: "unsupported format 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := decodeInventory(tt.data)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestNextInventoryComputesPruneSet(t *testing.T) {
	tests := []struct {
		name      string
		old       []InventoryEntry
		desired   []ObjectRef
		applied   map[objectKey]string
		wantStale []ObjectRef
		wantFP    map[ObjectRef]string
	}{
		{
			name:      "dropped object becomes stale",
			old:       []InventoryEntry{{ObjectRef: coreConfigMap, Fingerprint: "a"}, {ObjectRef: deployment, Fingerprint: "b"}},
			desired:   []ObjectRef{deployment},
			applied:   map[objectKey]string{deployment.key(): "b2"},
			wantStale: []ObjectRef{coreConfigMap},
			wantFP:    map[ObjectRef]string{deployment: "b2"},
		},
		{
			name:      "same kind and name in another API group is another object",
			old:       []InventoryEntry{{ObjectRef: coreConfigMap, Fingerprint: "a"}},
			desired:   []ObjectRef{otherConfigMap},
			applied:   map[objectKey]string{otherConfigMap.key(): "c"},
			wantStale: []ObjectRef{coreConfigMap},
			wantFP:    map[ObjectRef]string{otherConfigMap: "c"},
		},
		{
			name:      "other API group kept while core one is dropped, and the reverse",
			old:       []InventoryEntry{{ObjectRef: coreConfigMap}, {ObjectRef: otherConfigMap}},
			desired:   []ObjectRef{coreConfigMap},
			applied:   map[objectKey]string{coreConfigMap.key(): "a"},
			wantStale: []ObjectRef{otherConfigMap},
			wantFP:    map[ObjectRef]string{coreConfigMap: "a"},
		},
		{
			name:      "new API version of the same object is not a prune",
			old:       []InventoryEntry{{ObjectRef: hpaV2beta2, Fingerprint: "old"}},
			desired:   []ObjectRef{hpaV2},
			applied:   map[objectKey]string{hpaV2.key(): "new"},
			wantStale: nil,
			wantFP:    map[ObjectRef]string{hpaV2: "new"},
		},
		{
			name:      "object not re-applied keeps its fingerprint",
			old:       []InventoryEntry{{ObjectRef: deployment, Fingerprint: "keep"}, {ObjectRef: coreConfigMap, Fingerprint: "a"}},
			desired:   []ObjectRef{deployment, coreConfigMap},
			applied:   map[objectKey]string{coreConfigMap.key(): "a2"},
			wantStale: nil,
			wantFP:    map[ObjectRef]string{deployment: "keep", coreConfigMap: "a2"},
		},
		{
			name:      "pending object not applied gets no fingerprint",
			old:       []InventoryEntry{{ObjectRef: deployment, Stale: true}},
			desired:   []ObjectRef{deployment},
			wantStale: nil,
			wantFP:    map[ObjectRef]string{deployment: ""},
		},
		{
			name:      "stale object still stale",
			old:       []InventoryEntry{{ObjectRef: widgetsCRD, Stale: true}},
			desired:   nil,
			wantStale: []ObjectRef{widgetsCRD},
			wantFP:    map[ObjectRef]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			next := nextInventory(&Inventory{ChartVersion: "1", ValuesHash: "old", Objects: tt.old}, "2", "new", tt.desired, tt.applied)
			g.Expect(next.ChartVersion).To(Equal("2"))
			g.Expect(next.ValuesHash).To(Equal("new"))
			if tt.wantStale == nil {
				g.Expect(next.staleRefs()).To(BeEmpty())
			} else {
				g.Expect(next.staleRefs()).To(ConsistOf(tt.wantStale))
			}
			fps := map[ObjectRef]string{}
			for _, o := range next.Objects {
				if !o.Stale {
					fps[o.ObjectRef] = o.Fingerprint
				}
			}
			g.Expect(fps).To(Equal(tt.wantFP))
		})
	}
}

func TestWithPendingRecordsNewObjectsAsStale(t *testing.T) {
	g := NewWithT(t)
	old := &Inventory{ChartVersion: "1", ValuesHash: "h", Objects: []InventoryEntry{{ObjectRef: coreConfigMap, Fingerprint: "a"}}}

	next, added := old.withPending([]ObjectRef{coreConfigMap, otherConfigMap, hpaV2})
	g.Expect(added).To(BeTrue())
	g.Expect(next.ValuesHash).To(Equal("h"), "the revision is not applied yet")
	g.Expect(next.Objects).To(ConsistOf(
		InventoryEntry{ObjectRef: coreConfigMap, Fingerprint: "a"},
		InventoryEntry{ObjectRef: otherConfigMap, Stale: true},
		InventoryEntry{ObjectRef: hpaV2, Stale: true},
	))
	g.Expect(old.Objects).To(HaveLen(1), "the original is not modified")

	_, added = next.withPending([]ObjectRef{coreConfigMap, hpaV2beta2})
	g.Expect(added).To(BeFalse(), "another version of a known object is known")
}

func TestWithout(t *testing.T) {
	g := NewWithT(t)
	inv := &Inventory{Objects: []InventoryEntry{{ObjectRef: coreConfigMap}, {ObjectRef: otherConfigMap}}}
	next := inv.without(map[objectKey]bool{otherConfigMap.key(): true})
	g.Expect(next.refs()).To(Equal([]ObjectRef{coreConfigMap}))
	g.Expect(inv.Objects).To(HaveLen(2))
}
