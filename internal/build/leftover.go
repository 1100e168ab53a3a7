package build

import (
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// Kinds IsBuildLeftover knows.
const (
	KindJob            = "Job"
	KindConfigMap      = "ConfigMap"
	KindSecret         = "Secret"
	KindServiceAccount = "ServiceAccount"
)

// IsBuildLeftover reports whether an object of the given kind (Job, ConfigMap, Secret or
// ServiceAccount) is left over from build mode, ours or Kyma's legacy controller's, and
// is to be deleted once the Functions of its namespace run in buildless mode:
//
//   - a build Job: the three Function labels (LabelFunctionName, LabelManagedBy
//     function-controller, LabelUUID) with LabelResource build-job or absent. Kyma named
//     them <fn>-build-<random>, but with generateName a long name is cut, so the name is
//     not checked;
//   - a build input ConfigMap: the three Function labels with LabelResource build-source or
//     absent. Kyma's are named <fn>-<random> and carry no LabelResource. Any ConfigMap of a
//     Function that is not build input must therefore carry LabelResource with another
//     value (the buildless source ConfigMap does);
//   - a copy of a runtime's Dockerfile ConfigMap: labelled LabelConfig=runtime with a
//     LabelRuntime (see IsDockerfileCopy);
//   - a copy of the registry Secret: serverless-registry-config-default labelled
//     LabelConfig=credentials;
//   - the ServiceAccount serverless-function labelled LabelConfig=service-account or
//     LabelManagedBy function-controller (a user's own ServiceAccount of that name without
//     them is kept).
//
// Deployments, Services and HorizontalPodAutoscalers are never leftovers: they are adopted.
// Other kinds are never leftovers either. The module's own registry Secret and
// ServiceAccount of Kyma's legacy installation (in the module's namespace, usually
// kyma-system) have the same names and labels as the copies, and so do the chart's
// Dockerfile ConfigMaps there: callers must skip them, at least the registry Secret the
// controller's configuration names.
func IsBuildLeftover(obj metav1.Object, kind string) bool {
	if obj == nil {
		return false
	}
	if v := reflect.ValueOf(obj); v.Kind() == reflect.Pointer && v.IsNil() {
		return false
	}
	labels := obj.GetLabels()
	switch kind {
	case KindJob:
		return hasFunctionLabels(labels) && resourceIs(labels, ResourceBuildJob)
	case KindConfigMap:
		return (hasFunctionLabels(labels) && resourceIs(labels, ResourceBuildSource)) || IsDockerfileCopy(obj)
	case KindSecret:
		return obj.GetName() == RegistrySecretCopyName && labels[serverlessv1alpha2.LabelConfig] == ConfigCredentials
	case KindServiceAccount:
		return obj.GetName() == serverlessv1alpha2.FunctionServiceAccount &&
			(labels[serverlessv1alpha2.LabelConfig] == ConfigServiceAccount ||
				labels[serverlessv1alpha2.LabelManagedBy] == serverlessv1alpha2.ManagedByFunctionController)
	default:
		return false
	}
}
