package v1alpha1

// The Kyma module states of a module resource (Serverless, DockerRegistry), as read by the
// dashboard and lifecycle tooling. They are the values of status.state.
const (
	StateReady      = "Ready"
	StateProcessing = "Processing"
	StateWarning    = "Warning"
	StateError      = "Error"
	StateDeleting   = "Deleting"
)

// The values of status.served. Only one resource of a kind is served in a cluster; any other
// gets served False and the Warning state.
const (
	ServedTrue  = "True"
	ServedFalse = "False"
)

// Condition types of the module resources. The constants are untyped so that they fit
// metav1.Condition and the helpers in k8s.io/apimachinery/pkg/api/meta directly.
const (
	// ConditionConfigured is True when the spec was validated and turned into the effective
	// configuration shown in the status.
	ConditionConfigured = "Configured"
	// ConditionInstalled is True when the module's objects were applied and are ready.
	ConditionInstalled = "Installed"
	// ConditionDeleted tracks the uninstallation once the resource is being deleted.
	ConditionDeleted = "Deleted"
	// ConditionDeploymentFailure is True while an installed Deployment of the module reports a
	// failure (a replica failure or a stalled rollout). It has negative polarity: it is absent
	// or False while all is well.
	ConditionDeploymentFailure = "DeploymentFailure"
)

// Reasons of the Configured condition.
const (
	// ReasonConfiguration: the configuration is being computed (status Unknown).
	ReasonConfiguration = "Configuration"
	// ReasonConfigured: the effective configuration is in the status.
	ReasonConfigured = "Configured"
	// ReasonConfigurationErr: the spec cannot be turned into a configuration.
	ReasonConfigurationErr = "ConfigurationErr"
	// ReasonInvalidBuildlessMode: the buildless-mode annotation has a value other than
	// enabled or disabled; the last valid mode stays in effect.
	ReasonInvalidBuildlessMode = "InvalidBuildlessMode"
	// ReasonDuplicated: another Serverless resource is already served.
	ReasonDuplicated = "ServerlessDuplicated"
	// ReasonDockerRegistryDuplicated: another DockerRegistry resource is already served.
	ReasonDockerRegistryDuplicated = "DockerRegistryDuplicated"
)

// Reasons of the Installed condition.
const (
	// ReasonInstalling: the module is being applied or is not ready yet.
	ReasonInstalling = "Installation"
	// ReasonInstalled: every applied object is ready.
	ReasonInstalled = "Installed"
	// ReasonRenderFailed: the module chart could not be rendered with this configuration.
	ReasonRenderFailed = "RenderFailed"
	// ReasonApplyFailed: the API server refused an object of the module.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonInstallationErr: installation failed for another reason.
	ReasonInstallationErr = "InstallationErr"
)

// Reasons of the Deleted condition.
const (
	// ReasonDeleting: the module's objects are being removed.
	ReasonDeleting = "Deletion"
	// ReasonDeletionBlocked: user resources (for example Functions) still exist, so the module
	// is not removed; the state is Warning until they are gone.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonDeletionFailed: removing the module's objects failed.
	ReasonDeletionFailed = "DeletionErr"
	// ReasonDeleted: every object of the module was removed.
	ReasonDeleted = "Deleted"
)

// Reasons of the DeploymentFailure condition.
const (
	// ReasonDeploymentFailed: an installed Deployment reports ReplicaFailure or a rollout
	// that exceeded its progress deadline; the message names it.
	ReasonDeploymentFailed = "DeploymentFailed"
)

const (
	// BuildlessModeAnnotation on the Serverless resource switches the module between
	// buildless mode (the default when the annotation is absent) and build mode.
	BuildlessModeAnnotation = "serverless.kyma-project.io/buildless-mode"
	// BuildlessModeEnabled runs Functions on the runtime images with their code injected at
	// Pod start.
	BuildlessModeEnabled = "enabled"
	// BuildlessModeDisabled builds an image per Function and pushes it to a registry.
	BuildlessModeDisabled = "disabled"

	// Finalizer is set by the Serverless operator on the Serverless resource so that the
	// module is cleaned up before the resource disappears.
	Finalizer = "serverless-operator.kyma-project.io/deletion-hook"

	// DockerRegistryFinalizer is set by the DockerRegistry operator on the DockerRegistry resource.
	DockerRegistryFinalizer = "dockerregistry-operator.kyma-project.io/deletion-hook"
)
