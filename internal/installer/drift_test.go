package installer

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

const manager = "test-operator"

func entry(mgr string, op metav1.ManagedFieldsOperationType, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{
		Manager: mgr, Operation: op, Subresource: subresource, APIVersion: "apps/v1", FieldsType: "FieldsV1",
		FieldsV1: metav1.NewFieldsV1(fields),
	}
}

func TestFingerprint(t *testing.T) {
	const ours = `{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	const oursWithoutImage = `{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{}}}}}}}`
	const oursReordered = `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:name":{},"f:image":{},".":{}}}}},"f:replicas":{}}}`
	base := fingerprint([]metav1.ManagedFieldsEntry{entry(manager, metav1.ManagedFieldsOperationApply, "", ours)}, manager)

	tests := []struct {
		name      string
		entries   []metav1.ManagedFieldsEntry
		wantSame  bool
		wantEmpty bool
	}{
		{
			name:     "status written by a controller",
			wantSame: true,
			entries: []metav1.ManagedFieldsEntry{
				entry(manager, metav1.ManagedFieldsOperationApply, "", ours),
				entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status", `{"f:status":{"f:replicas":{}}}`),
			},
		},
		{
			name:     "field the chart does not set written by someone else",
			wantSame: true,
			entries: []metav1.ManagedFieldsEntry{
				entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "", `{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}}}`),
				entry(manager, metav1.ManagedFieldsOperationApply, "", ours),
			},
		},
		{
			name:     "same fields encoded in another key order",
			wantSame: true,
			entries:  []metav1.ManagedFieldsEntry{entry(manager, metav1.ManagedFieldsOperationApply, "", oursReordered)},
		},
		{
			name:     "timestamp changes only",
			wantSame: true,
			entries: []metav1.ManagedFieldsEntry{func() metav1.ManagedFieldsEntry {
				e := entry(manager, metav1.ManagedFieldsOperationApply, "", ours)
				e.Time = &metav1.Time{}
				return e
			}()},
		},
		{
			name: "image taken over by kubectl set image",
			entries: []metav1.ManagedFieldsEntry{
				entry(manager, metav1.ManagedFieldsOperationApply, "", oursWithoutImage),
				entry("kubectl-set", metav1.ManagedFieldsOperationUpdate, "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`),
			},
		},
		{
			name:      "our entry removed",
			wantEmpty: true,
			entries:   []metav1.ManagedFieldsEntry{entry("someone", metav1.ManagedFieldsOperationApply, "", ours)},
		},
		{
			name:      "our manager only as an Update",
			wantEmpty: true,
			entries:   []metav1.ManagedFieldsEntry{entry(manager, metav1.ManagedFieldsOperationUpdate, "", ours)},
		},
		{
			name:      "no managed fields",
			wantEmpty: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := fingerprint(tt.entries, manager)
			switch {
			case tt.wantEmpty:
				g.Expect(got).To(BeEmpty())
			case tt.wantSame:
				g.Expect(got).To(Equal(base))
			default:
				g.Expect(got).NotTo(BeEmpty())
				g.Expect(got).NotTo(Equal(base))
			}
		})
	}
}

func TestMatchesTreatsTerminatingAsDrift(t *testing.T) {
	g := NewWithT(t)
	obj := &metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{entry(manager, metav1.ManagedFieldsOperationApply, "", `{"f:data":{}}`)}}
	fp := fingerprint(obj.ManagedFields, manager)
	g.Expect(matches(obj, fp, manager)).To(BeTrue())
	g.Expect(matches(obj, "other", manager)).To(BeFalse())
	obj.DeletionTimestamp = &metav1.Time{}
	g.Expect(matches(obj, fp, manager)).To(BeFalse())
}

func TestDriftPredicate(t *testing.T) {
	withFields := func(entries ...metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: entries}}
	}
	ours := entry(manager, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{"f:image":{}}}`)
	tests := []struct {
		name     string
		old, new *metav1.PartialObjectMetadata
		want     bool
	}{
		{name: "status update", want: false,
			old: withFields(ours), new: withFields(ours, entry("kcm", metav1.ManagedFieldsOperationUpdate, "status", `{"f:status":{}}`))},
		{name: "our fields taken over", want: true,
			old: withFields(ours), new: withFields(entry(manager, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{}}`))},
	}
	p := DriftPredicate(manager)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(p.Update(event.UpdateEvent{ObjectOld: tt.old, ObjectNew: tt.new})).To(Equal(tt.want))
		})
	}
	g := NewWithT(t)
	g.Expect(p.Delete(event.DeleteEvent{Object: withFields()})).To(BeTrue())
	g.Expect(p.Create(event.CreateEvent{Object: withFields()})).To(BeTrue())
}
