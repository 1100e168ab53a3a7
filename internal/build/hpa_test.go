package build

import (
	"testing"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

func TestHPA(t *testing.T) {
	scale := func(minR, maxR *int32) func(*serverlessv1alpha2.Function) {
		return func(f *serverlessv1alpha2.Function) {
			f.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{MinReplicas: minR, MaxReplicas: maxR}
		}
	}
	cases := []struct {
		name       string
		fn         *serverlessv1alpha2.Function
		targetCPU  int32
		wantNil    bool
		min, max   int32
		wantTarget int32
	}{
		{name: "no scaleConfig", fn: inlineFunction("orders"), wantNil: true},
		{name: "min and max", fn: inlineFunction("orders", scale(ptr.To[int32](2), ptr.To[int32](5))), targetCPU: 60, min: 2, max: 5, wantTarget: 60},
		{name: "equal bounds", fn: inlineFunction("orders", scale(ptr.To[int32](3), ptr.To[int32](3))), targetCPU: 50, min: 3, max: 3, wantTarget: 50},
		{name: "default target", fn: inlineFunction("orders", scale(ptr.To[int32](1), ptr.To[int32](4))), min: 1, max: 4, wantTarget: 50},
		{name: "missing bounds", fn: inlineFunction("orders", scale(nil, nil)), targetCPU: 80, min: 1, max: 1, wantTarget: 80},
		{name: "max below min", fn: inlineFunction("orders", scale(ptr.To[int32](4), ptr.To[int32](2))), targetCPU: 80, min: 4, max: 4, wantTarget: 80},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			hpa := HPA(c.fn, "orders-x7k2p", c.targetCPU)
			if c.wantNil {
				g.Expect(hpa).To(BeNil())
				return
			}
			g.Expect(hpa.Name).To(Equal("orders"))
			g.Expect(hpa.Namespace).To(Equal(testNamespace))
			g.Expect(hpa.Labels).To(Equal(map[string]string{
				"serverless.kyma-project.io/function-name": "orders",
				"serverless.kyma-project.io/managed-by":    "function-controller",
				"serverless.kyma-project.io/uuid":          string(testUID),
			}))
			g.Expect(hpa.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1", Kind: "Deployment", Name: "orders-x7k2p",
			}))
			g.Expect(hpa.Spec.MinReplicas).To(Equal(ptr.To(c.min)))
			g.Expect(hpa.Spec.MaxReplicas).To(Equal(c.max))
			g.Expect(hpa.Spec.Metrics).To(Equal([]autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(c.wantTarget)},
				},
			}}))
			g.Expect(hpa.OwnerReferences).To(BeEmpty())
		})
	}
}
