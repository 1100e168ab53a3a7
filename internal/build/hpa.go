package build

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// defaultTargetCPU is the CPU utilization target when the caller passes none.
const defaultTargetCPU int32 = 50

// HPA is the HorizontalPodAutoscaler of a Function with spec.scaleConfig, or nil without
// one. It is named like the Function, labelled with the Function labels, and scales the
// Deployment deploymentName between minReplicas and maxReplicas on CPU utilization
// targetCPU percent (functionconfig TargetCPUUtilizationPercentage; 50 when not positive).
// It targets the Deployment by name, so it keeps working while the Deployment's Pod
// template switches between build and buildless mode. A missing minReplicas is 1, a
// missing or smaller maxReplicas is minReplicas. While it exists, the controller must not
// set the Deployment's replicas. The caller sets the Function as its controlling owner.
func HPA(fn *serverlessv1alpha2.Function, deploymentName string, targetCPU int32) *autoscalingv2.HorizontalPodAutoscaler {
	sc := fn.Spec.ScaleConfig
	if sc == nil {
		return nil
	}
	minReplicas := ptr.Deref(sc.MinReplicas, 1)
	if minReplicas < 1 {
		minReplicas = 1
	}
	maxReplicas := max(ptr.Deref(sc.MaxReplicas, minReplicas), minReplicas)
	if targetCPU <= 0 {
		targetCPU = defaultTargetCPU
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      fn.Name,
			Namespace: fn.Namespace,
			Labels:    Labels(fn, ""),
		},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1",
				Kind:       "Deployment",
				Name:       deploymentName,
			},
			MinReplicas: ptr.To(minReplicas),
			MaxReplicas: maxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:               autoscalingv2.UtilizationMetricType,
						AverageUtilization: ptr.To(targetCPU),
					},
				},
			}},
		},
	}
}
