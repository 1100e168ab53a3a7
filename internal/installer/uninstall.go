package installer

import (
	"context"
	"fmt"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// UninstallResult summarizes one UninstallWithResult.
type UninstallResult struct {
	// Done is true once every deletable object is gone and the inventory
	// was deleted.
	Done bool
	// Deleting lists objects whose deletion is in progress.
	Deleting []ObjectRef
	// Retained lists objects a protection rule kept. Those with reason
	// RetainInUse keep the uninstall from finishing.
	Retained []Retained
}

// Uninstall removes every recorded object and reports whether it is done;
// call it again until it is. See UninstallWithResult.
func (e *Engine) Uninstall(ctx context.Context) (bool, error) {
	res, err := e.UninstallWithResult(ctx)
	return res.Done, err
}

// UninstallWithResult removes the recorded objects in reverse install order
// (everything else, workloads, Services, configuration, RBAC, Namespaces,
// CRDs last), moving to the next tier only once the current one is gone. The
// protection rules of pruning apply: user data and objects no longer labelled
// for the module are left in place and forgotten; a CRD with custom
// resources is kept and holds the uninstall back until they are deleted.
// When nothing deletable is left, the inventory is deleted and Done is true.
// Without an inventory there is nothing to do and Done is true.
func (e *Engine) UninstallWithResult(ctx context.Context) (UninstallResult, error) {
	s, err := e.loadInventory(ctx)
	if err != nil {
		return UninstallResult{}, err
	}
	if s.cm == nil {
		return UninstallResult{Done: true}, nil
	}
	rr, err := e.removeAll(ctx, s, s.refs(), true)
	res := UninstallResult{Deleting: rr.deleting, Retained: rr.retained}
	if err != nil || rr.blocked || len(rr.deleting) > 0 || len(s.Objects) > 0 {
		return res, err
	}
	if err := e.client.Delete(ctx, s.cm, client.Preconditions{ResourceVersion: ptr.To(s.cm.GetResourceVersion())}); err != nil && !isGone(err) {
		return res, fmt.Errorf("delete inventory %s/%s: %w", e.opts.InventoryNamespace, e.opts.InventoryName, err)
	}
	log.FromContext(ctx).Info("Uninstalled", "inventory", e.opts.InventoryNamespace+"/"+e.opts.InventoryName)
	res.Done = true
	return res, nil
}
