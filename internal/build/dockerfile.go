package build

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

// DockerfileCopy is the copy of a runtime's Dockerfile ConfigMap src in a namespace with
// Functions: a Pod mounts ConfigMaps of its own namespace only, and the chart installs the
// Dockerfiles in the module's namespace. The copy has src's name and its Dockerfile, and
// is labelled LabelConfig=runtime, LabelRuntime=runtime and LabelManagedBy, so that
// IsBuildLeftover recognises it like Kyma's legacy copies.
//
// It returns nil when src is nil or lives in namespace itself (then src is used as it is),
// and an error naming src when src has no Dockerfile.
func DockerfileCopy(src *corev1.ConfigMap, runtime, namespace string) (*corev1.ConfigMap, error) {
	if src == nil || src.Namespace == namespace {
		return nil, nil
	}
	dockerfile, ok := src.Data[functionconfig.DockerfileKey]
	if !ok || dockerfile == "" {
		return nil, fmt.Errorf("the Dockerfile ConfigMap %s/%s has no key %s", src.Namespace, src.Name, functionconfig.DockerfileKey)
	}
	if runtime == "" {
		return nil, errors.New("no runtime given for the Dockerfile copy")
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      src.Name,
			Namespace: namespace,
			Labels: map[string]string{
				serverlessv1alpha2.LabelConfig:    ConfigRuntime,
				serverlessv1alpha2.LabelRuntime:   runtime,
				serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController,
			},
		},
		Data: map[string]string{functionconfig.DockerfileKey: dockerfile},
	}, nil
}

// IsDockerfileCopy reports whether a ConfigMap is a copy of a runtime's Dockerfile
// ConfigMap, ours or Kyma's legacy controller's: labelled LabelConfig=runtime with a
// LabelRuntime. The chart's originals in the module's namespace carry the same labels:
// callers must skip that namespace.
func IsDockerfileCopy(obj metav1.Object) bool {
	labels := obj.GetLabels()
	return labels[serverlessv1alpha2.LabelConfig] == ConfigRuntime && labels[serverlessv1alpha2.LabelRuntime] != ""
}
