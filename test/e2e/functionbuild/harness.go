// Package functionbuild proves the Function controller in build mode on a real API server
// with kwok nodes (kwok completes build Pods without running them): build Jobs, built
// images in Deployments, rebuilds, the limit on simultaneous builds, restricted namespaces,
// autoscaling, and the switch of many Functions between build and buildless mode in place.
//
// The non-test part of the package is the harness the Function controller suites share:
// a local cluster with the Function CRD, the controller in-process as its ServiceAccount
// (bound to the ClusterRole generated from its RBAC markers), and a count of its writes.
package functionbuild

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/controllers/function"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/test/cluster"
	"github.com/kyma-serverless/serverless/test/framework"
)

// ConfigNamespace is where the controller's configuration and the registry Secret live.
const ConfigNamespace = "kyma-system"

// Harness is a local cluster with the Function CRD and a Function controller that can be
// started and stopped.
type Harness struct {
	Cluster *cluster.Cluster
	// Client is an admin client.
	Client client.Client
	// Writes counts the controller's write requests.
	Writes *WriteCounter

	controllerConfig *rest.Config
	manager          *framework.RunningManager
}

// Setup starts (or attaches to) the local cluster, installs the Function CRD, writes the
// controller's configuration and prepares the controller's identity; tmpDir receives its
// kubeconfig. The controller is not started.
func Setup(ctx context.Context, config, tmpDir string) (*Harness, error) {
	scheme, err := function.NewScheme()
	if err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, k8s, err := framework.StartSuite(ctx, scheme,
		[]string{framework.Path("config", "crd", "bases", "serverless.kyma-project.io_functions.yaml")}, ConfigNamespace)
	if err != nil {
		return nil, err
	}
	h := &Harness{Cluster: c, Client: k8s, Writes: &WriteCounter{}}
	if err := h.WriteConfig(ctx, config); err != nil {
		return h, err
	}
	kubeconfig, err := framework.ServiceAccountKubeconfig(ctx, c.RESTConfig(), ConfigNamespace,
		function.FieldManager, framework.Path("config", "rbac", "function-controller", "role.yaml"), tmpDir)
	if err != nil {
		return h, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return h, err
	}
	h.Writes.Wrap(cfg)
	h.controllerConfig = cfg
	return h, nil
}

// StartController runs the Function controller in this process until StopController.
func (h *Harness) StartController() error {
	if h.manager != nil {
		return errors.New("the controller is running")
	}
	mgr, err := function.NewManager(h.controllerConfig, function.Options{
		ConfigNamespace: ConfigNamespace, ConfigName: functionconfig.ConfigMapName, MetricsAddr: "0", ProbeAddr: "0",
	})
	if err != nil {
		return err
	}
	h.manager = framework.RunManager(mgr)
	return nil
}

// StopController stops the controller and returns the manager's error.
func (h *Harness) StopController() error {
	if h.manager == nil {
		return nil
	}
	m := h.manager
	h.manager = nil
	select {
	case <-m.Done():
		return errors.Join(errors.New("the controller ended before it was stopped"), m.Stop())
	default:
	}
	return m.Stop()
}

// Teardown stops the controller and the cluster.
func (h *Harness) Teardown() error {
	errs := []error{h.StopController()}
	if h.Cluster != nil {
		errs = append(errs, h.Cluster.Stop())
	}
	return errors.Join(errs...)
}

// WriteConfig creates or replaces the controller's configuration.
func (h *Harness) WriteConfig(ctx context.Context, data string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ConfigNamespace, Name: functionconfig.ConfigMapName}}
	err := h.Client.Get(ctx, client.ObjectKeyFromObject(cm), cm)
	cm.Data = map[string]string{functionconfig.ConfigMapKey: data}
	switch {
	case err == nil:
		return h.Client.Update(ctx, cm)
	case apierrors.IsNotFound(err):
		cm.ResourceVersion = ""
		return h.Client.Create(ctx, cm)
	default:
		return err
	}
}

// WriteCounter records the controller's write requests.
type WriteCounter = framework.WriteCounter
