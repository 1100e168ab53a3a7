package installer

import (
	"context"
	"fmt"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// ObjectStatus is the computed status of one object.
type ObjectStatus struct {
	Ref     ObjectRef
	Status  status.Status
	Message string
}

// Readiness is the outcome of Verify.
type Readiness struct {
	// Ready is true when every recorded object is Current.
	Ready bool
	// NotReady lists the objects that are not Current.
	NotReady []ObjectStatus
}

// Failed returns the objects whose status is Failed, as opposed to still
// progressing.
func (r Readiness) Failed() []ObjectStatus {
	var out []ObjectStatus
	for _, s := range r.NotReady {
		if s.Status == status.FailedStatus {
			out = append(out, s)
		}
	}
	return out
}

// Verify computes the kstatus of every recorded object from the cache:
// Deployments must be rolled out and available, CRDs established, Jobs
// complete, and so on. A missing object of the current manifest is
// NotFound; a missing stale one is ignored. Without a completed apply
// nothing is Ready.
func (e *Engine) Verify(ctx context.Context) (Readiness, error) {
	s, err := e.loadInventory(ctx)
	if err != nil {
		return Readiness{}, err
	}
	if s.ValuesHash == "" {
		return Readiness{}, nil
	}
	var r Readiness
	for _, entry := range s.Objects {
		st, err := e.objectStatus(ctx, entry)
		if err != nil {
			return Readiness{}, fmt.Errorf("verify %s: %w", entry.ObjectRef, err)
		}
		if st != nil && st.Status != status.CurrentStatus {
			r.NotReady = append(r.NotReady, *st)
		}
	}
	r.Ready = len(r.NotReady) == 0
	return r, nil
}

func (e *Engine) objectStatus(ctx context.Context, entry InventoryEntry) (*ObjectStatus, error) {
	obj, err := e.getCached(ctx, entry.ObjectRef)
	if isGone(err) {
		if entry.Stale {
			return nil, nil
		}
		return &ObjectStatus{Ref: entry.ObjectRef, Status: status.NotFoundStatus, Message: "object not found"}, nil
	}
	if err != nil {
		return nil, err
	}
	u, err := toUnstructured(obj, entry.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	// An object kstatus cannot read is reported as Unknown, not as an error.
	st := &ObjectStatus{Ref: entry.ObjectRef, Status: status.UnknownStatus}
	if res, err := status.Compute(u); err == nil {
		st.Status, st.Message = res.Status, res.Message
	} else {
		st.Message = err.Error()
	}
	return st, nil
}
