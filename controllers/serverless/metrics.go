package serverless

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	operatorv1alpha1 "github.com/kyma-serverless/serverless/api/operator/v1alpha1"
)

var allStates = []string{
	operatorv1alpha1.StateReady, operatorv1alpha1.StateProcessing, operatorv1alpha1.StateWarning,
	operatorv1alpha1.StateError, operatorv1alpha1.StateDeleting,
}

// metrics are registered once per process in controller-runtime's registry.
type metrics struct {
	installDuration *prometheus.HistogramVec
	reconciles      *prometheus.CounterVec
	state           *prometheus.GaugeVec

	mu sync.Mutex
	// pending remembers when a new desired configuration was first seen, per
	// object, until it becomes Ready.
	pending map[string]pendingChange
	// ready holds the last desired configuration seen Ready, per object.
	ready map[string]string
}

type pendingChange struct {
	fingerprint string
	since       time.Time
	operation   string
}

var (
	registerOnce  sync.Once
	sharedMetrics *metrics
)

func newMetrics() *metrics {
	registerOnce.Do(func() {
		m := &metrics{
			installDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name:    "serverless_operator_install_duration_seconds",
				Help:    "Time from a Serverless spec or annotation change until the module is Ready.",
				Buckets: prometheus.ExponentialBuckets(0.5, 2, 12),
			}, []string{"operation"}),
			reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "serverless_operator_reconcile_outcomes_total",
				Help: "Serverless reconciles by outcome.",
			}, []string{"outcome"}),
			state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "serverless_operator_state",
				Help: "1 for the current state of each Serverless object, 0 for the others.",
			}, []string{"namespace", "name", "state"}),
			pending: map[string]pendingChange{},
			ready:   map[string]string{},
		}
		ctrlmetrics.Registry.MustRegister(m.installDuration, m.reconciles, m.state)
		sharedMetrics = m
	})
	return sharedMetrics
}

// observe records the outcome and state of one reconcile. The install timer
// starts when a new desired configuration (generation, buildless annotation,
// chart version) is first seen and stops when the object is Ready with it.
func (m *metrics) observe(obj, before *operatorv1alpha1.Serverless, err error) {
	if m == nil {
		return
	}
	outcome := "success"
	switch {
	case err != nil:
		outcome = "error"
	case obj.Status.State != operatorv1alpha1.StateReady:
		outcome = "pending"
	}
	m.reconciles.WithLabelValues(outcome).Inc()
	for _, s := range allStates {
		v := 0.0
		if s == obj.Status.State {
			v = 1
		}
		m.state.WithLabelValues(obj.Namespace, obj.Name, s).Set(v)
	}

	key := string(obj.UID)
	fp := fmt.Sprintf("%d/%s/%s", obj.Generation, obj.Annotations[operatorv1alpha1.BuildlessModeAnnotation], obj.Status.ChartVersion)
	ready := obj.Status.State == operatorv1alpha1.StateReady
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ready[key] == fp {
		return
	}
	// Already Ready before this process saw it change: nothing to time.
	if ready && before.Status.State == operatorv1alpha1.StateReady && before.Status.ChartVersion == obj.Status.ChartVersion {
		if _, timing := m.pending[key]; !timing {
			m.ready[key] = fp
			return
		}
	}
	p, ok := m.pending[key]
	if !ok || p.fingerprint != fp {
		operation := "install"
		switch {
		case before.Status.ChartVersion == "":
		case before.Status.ChartVersion != obj.Status.ChartVersion:
			operation = "upgrade"
		default:
			operation = "reconfigure"
		}
		p = pendingChange{fingerprint: fp, since: time.Now(), operation: operation}
		m.pending[key] = p
	}
	if ready {
		m.installDuration.WithLabelValues(p.operation).Observe(time.Since(p.since).Seconds())
		m.ready[key] = fp
		delete(m.pending, key)
	}
}
