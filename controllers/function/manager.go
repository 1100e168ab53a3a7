package function

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

// Options configure the Function controller process.
type Options struct {
	// ConfigNamespace and ConfigName locate the configuration ConfigMap (key config.yaml).
	ConfigNamespace string
	ConfigName      string
	// MetricsAddr and ProbeAddr are the listen addresses; "0" disables an endpoint.
	MetricsAddr string
	ProbeAddr   string
	// LeaderElect lets only one replica reconcile.
	LeaderElect bool
	// MaxConcurrentReconciles is how many Functions are reconciled at once (default 10).
	MaxConcurrentReconciles int
}

// Defaults of Options.
const (
	DefaultConfigNamespace         = "kyma-system"
	DefaultMaxConcurrentReconciles = 10
)

func (o Options) withDefaults() Options {
	if o.ConfigNamespace == "" {
		o.ConfigNamespace = DefaultConfigNamespace
	}
	if o.ConfigName == "" {
		o.ConfigName = functionconfig.ConfigMapName
	}
	if o.MaxConcurrentReconciles <= 0 {
		o.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	return o
}

// NewScheme holds every type the Function controller reads or writes.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, serverlessv1alpha2.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return scheme, nil
}

// managedSelector selects the objects the controller creates (and those Kyma's legacy
// controller created, which carry the same label).
func managedSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController})
}

// CacheOptions keep only Function-owned Deployments, Services, ConfigMaps, Jobs and
// HorizontalPodAutoscalers in memory, without their managed fields, and Namespaces (build
// mode reads their Pod Security label). Secrets and ServiceAccounts are never cached (see
// the client options in NewManager).
func CacheOptions() cache.Options {
	sel := managedSelector()
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}:                     {Label: sel},
			&corev1.Service{}:                        {Label: sel},
			&corev1.ConfigMap{}:                      {Label: sel},
			&batchv1.Job{}:                           {Label: sel},
			&autoscalingv2.HorizontalPodAutoscaler{}: {Label: sel},
		},
	}
}

// configCache is a cache of the configuration ConfigMap alone. GetCache makes the manager
// start it with its own caches and wait for it to sync before it starts the controller.
type configCache struct{ cache.Cache }

func (c configCache) GetCache() cache.Cache { return c.Cache }

// NewManager wires the Function reconciler into a controller-runtime manager.
func NewManager(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	o = o.withDefaults()
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme,
		Cache:  CacheOptions(),
		Client: client.Options{Cache: &client.CacheOptions{
			DisableFor: []client.Object{&corev1.Secret{}, &corev1.ServiceAccount{}, &corev1.Event{}},
		}},
		Metrics:                metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress: o.ProbeAddr,
		LeaderElection:         o.LeaderElect,
		LeaderElectionID:       "function-controller.serverless.kyma-project.io",
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}

	cc, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:        mgr.GetHTTPClient(),
		Scheme:            scheme,
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{o.ConfigNamespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Field: fields.OneTermEqualSelector("metadata.name", o.ConfigName)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create configuration cache: %w", err)
	}
	if err := mgr.Add(configCache{cc}); err != nil {
		return nil, fmt.Errorf("add configuration cache: %w", err)
	}

	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(FieldManager),
		Config:    NewConfigSource(cc, o.ConfigNamespace, o.ConfigName),
		Gate:      build.NewGate(),
	}
	if err := r.SetupWithManager(mgr, cc, o.MaxConcurrentReconciles); err != nil {
		return nil, fmt.Errorf("set up Function controller: %w", err)
	}
	if o.ProbeAddr != "0" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add health check: %w", err)
		}
		if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
			return nil, fmt.Errorf("add ready check: %w", err)
		}
	}
	return mgr, nil
}
