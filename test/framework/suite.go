package framework

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/kyma-serverless/serverless/test/cluster"
)

// StartSuite starts (or attaches to, see cluster.ForSuite) the local cluster
// of a suite, returns an admin client with scheme, installs the CRDs and
// creates the namespaces.
func StartSuite(ctx context.Context, scheme *runtime.Scheme, crdFiles []string, namespaces ...string) (*cluster.Cluster, client.Client, error) {
	lc, err := cluster.ForSuite(ctx, cluster.Options{})
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*cluster.Cluster, client.Client, error) {
		return lc, nil, errors.Join(err, lc.Stop())
	}
	c, err := client.New(lc.RESTConfig(), client.Options{Scheme: scheme})
	if err != nil {
		return fail(fmt.Errorf("create client: %w", err))
	}
	if err := InstallCRDs(ctx, c, crdFiles...); err != nil {
		return fail(err)
	}
	for _, name := range namespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := client.IgnoreAlreadyExists(c.Create(ctx, ns)); err != nil {
			return fail(fmt.Errorf("create namespace %s: %w", name, err))
		}
	}
	return lc, c, nil
}

// RunningManager is a manager started by RunManager.
type RunningManager struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// RunManager starts mgr in the background.
func RunManager(mgr manager.Manager) *RunningManager {
	ctx, cancel := context.WithCancel(context.Background())
	m := &RunningManager{cancel: cancel, done: make(chan struct{})}
	go func() {
		m.err = mgr.Start(ctx)
		close(m.done)
	}()
	return m
}

// Done is closed once the manager has ended, on Stop or on its own (a crash).
func (m *RunningManager) Done() <-chan struct{} { return m.done }

// Stop cancels the manager and returns once it has ended, with its error.
func (m *RunningManager) Stop() error {
	m.cancel()
	<-m.done
	return m.err
}
