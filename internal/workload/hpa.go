package workload

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kyma-serverless/serverless/internal/build"
)

// HPA is the HorizontalPodAutoscaler of a Function with spec.scaleConfig (build.HPA), or nil
// without one: named like the Function, owned by it, scaling the Deployment the builders
// write (Params.DeploymentName when set). It is the same object in both modes, so it keeps
// scaling the Deployment while its Pod template switches between them.
func HPA(p Params) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	hpa := build.HPA(p.Function, p.deploymentName(), p.Config.TargetCPUUtilizationPercentage)
	if hpa == nil {
		return nil, nil
	}
	hpa.OwnerReferences = append(hpa.OwnerReferences, OwnerReference(p.Function))
	if err := setHash(hpa); err != nil {
		return nil, err
	}
	return hpa, nil
}
