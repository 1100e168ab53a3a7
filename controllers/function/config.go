package function

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

// ConfigError is the error of ConfigSource.Current when the configuration cannot be used:
// the ConfigMap or its key is missing, or its content is invalid. Other errors (reading the
// cache) are transient.
type ConfigError struct {
	// Missing is true when the ConfigMap or its key does not exist.
	Missing bool
	Err     error
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// AsConfigError returns the ConfigError in err's chain, if any.
func AsConfigError(err error) (*ConfigError, bool) {
	var ce *ConfigError
	ok := errors.As(err, &ce)
	return ce, ok
}

// ConfigSource holds the controller's configuration, parsed from the configuration ConfigMap
// read through a cache. The parsed result is swapped atomically whenever the ConfigMap's
// resourceVersion changes, so reconciles running at the same time each see one whole
// configuration, and an unchanged ConfigMap is parsed once.
type ConfigSource struct {
	reader client.Reader
	key    types.NamespacedName
	snap   atomic.Pointer[configSnapshot]
}

type configSnapshot struct {
	uid, resourceVersion string
	cfg                  *functionconfig.Config
	err                  error
}

// NewConfigSource reads the ConfigMap namespace/name through reader.
func NewConfigSource(reader client.Reader, namespace, name string) *ConfigSource {
	return &ConfigSource{reader: reader, key: types.NamespacedName{Namespace: namespace, Name: name}}
}

// Key is the configuration ConfigMap's namespace and name.
func (s *ConfigSource) Key() types.NamespacedName { return s.key }

// Current returns the configuration. A missing ConfigMap or key, or an invalid configuration
// (functionconfig.Parse's error, which names every offending key), gives a *ConfigError.
func (s *ConfigSource) Current(ctx context.Context) (*functionconfig.Config, error) {
	cm := &corev1.ConfigMap{}
	if err := s.reader.Get(ctx, s.key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &ConfigError{Missing: true, Err: fmt.Errorf("the Function controller's configuration ConfigMap %s was not found", s.key)}
		}
		return nil, fmt.Errorf("read ConfigMap %s: %w", s.key, err)
	}
	if snap := s.snap.Load(); snap != nil && snap.uid == string(cm.UID) && snap.resourceVersion == cm.ResourceVersion {
		return snap.cfg, snap.err
	}
	snap := &configSnapshot{uid: string(cm.UID), resourceVersion: cm.ResourceVersion}
	if data, ok := cm.Data[functionconfig.ConfigMapKey]; !ok {
		snap.err = &ConfigError{Missing: true, Err: fmt.Errorf("the Function controller's configuration ConfigMap %s has no key %s", s.key, functionconfig.ConfigMapKey)}
	} else {
		snap.cfg, snap.err = functionconfig.Parse([]byte(data))
		if snap.err != nil {
			snap.err = &ConfigError{Err: fmt.Errorf("ConfigMap %s: %w", s.key, snap.err)}
		}
	}
	s.snap.Store(snap)
	return snap.cfg, snap.err
}
