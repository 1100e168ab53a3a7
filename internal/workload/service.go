package workload

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kyma-serverless/serverless/internal/runtime"
)

// ServicePort is the port the Function's Service exposes; it forwards to runtime.Port.
const ServicePort = 80

// Service is the ClusterIP Service <fn> in front of the Function's Pods (port 80 to 8080),
// selecting them with SelectorLabels.
func Service(p Params) (*corev1.Service, error) {
	fn := p.Function
	svc := &corev1.Service{
		TypeMeta:   metaType("v1", "Service"),
		ObjectMeta: objectMeta(fn, ServiceName(fn), ResourceService),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(fn),
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Protocol:   corev1.ProtocolTCP,
				Port:       ServicePort,
				TargetPort: intstr.FromInt32(runtime.Port),
			}},
		},
	}
	if err := setHash(svc); err != nil {
		return nil, err
	}
	return svc, nil
}
