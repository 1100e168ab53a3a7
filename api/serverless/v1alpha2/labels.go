package v1alpha2

// Labels and finalizers on the objects that belong to a Function. The names
// are those Kyma's Function controller used, so that workloads it created can
// be adopted in place (a Deployment's selector is immutable).
const (
	// LabelFunctionName holds the Function's name.
	LabelFunctionName = "serverless.kyma-project.io/function-name"
	// LabelManagedBy marks objects managed by the Function controller.
	LabelManagedBy = "serverless.kyma-project.io/managed-by"
	// LabelUUID holds the Function's UID.
	LabelUUID = "serverless.kyma-project.io/uuid"
	// LabelResource says what an object is for the Function, e.g. "deployment".
	LabelResource = "serverless.kyma-project.io/resource"
	// LabelConfig marks shared configuration: "credentials" (registry Secret),
	// "service-account", "runtime" (Dockerfile ConfigMaps).
	LabelConfig = "serverless.kyma-project.io/config"
	// LabelRuntime names the runtime of a Dockerfile ConfigMap.
	LabelRuntime = "serverless.kyma-project.io/runtime"

	// ManagedByFunctionController is the value of LabelManagedBy.
	ManagedByFunctionController = "function-controller"
	// ResourceDeployment is the value of LabelResource on Function Deployments and their Pods.
	ResourceDeployment = "deployment"

	// FinalizerRegistryConfig was set by Kyma's legacy controller on the per-namespace
	// copies of the registry Secret.
	FinalizerRegistryConfig = "serverless.kyma-project.io/finalizer-registry-config"
	// FunctionServiceAccount was created per namespace by the legacy controller for builds and Pods.
	FunctionServiceAccount = "serverless-function"
)
