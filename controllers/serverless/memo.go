package serverless

import (
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

// statusMemo remembers the last status this process wrote per object. Events
// caused by the operator's own writes can start a reconcile from a cache that
// does not show that status yet; without the memo it would write the same
// status a second time.
type statusMemo struct {
	mu   sync.Mutex
	last map[types.UID]writtenStatus
}

type writtenStatus struct {
	status          operatorv1alpha1.ServerlessStatus
	resourceVersion uint64
}

func (m *statusMemo) record(obj *operatorv1alpha1.Serverless) {
	rv, err := strconv.ParseUint(obj.ResourceVersion, 10, 64)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[types.UID]writtenStatus{}
	}
	m.last[obj.UID] = writtenStatus{status: *obj.Status.DeepCopy(), resourceVersion: rv}
}

// alreadyWritten is true when desired equals the status last written and the
// cached object predates that write. Anything newer is re-observed and, if it
// differs, written again.
func (m *statusMemo) alreadyWritten(cached *operatorv1alpha1.Serverless, desired operatorv1alpha1.ServerlessStatus) bool {
	rv, err := strconv.ParseUint(cached.ResourceVersion, 10, 64)
	if err != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.last[cached.UID]
	return ok && rv < w.resourceVersion && equalStatus(w.status, desired)
}
