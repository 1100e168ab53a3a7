package v1alpha2

// Condition types of a Function. The constants are untyped so that they fit
// metav1.Condition and the helpers in k8s.io/apimachinery/pkg/api/meta directly.
const (
	// ConditionConfigurationReady is True when the Function's source (inline, or the commit
	// resolved from its Git reference) and configuration were accepted by the controller.
	ConditionConfigurationReady = "ConfigurationReady"
	// ConditionBuildReady is True when the Function's image is built (build mode only).
	ConditionBuildReady = "BuildReady"
	// ConditionRunning is True when the Function's Deployment is available with its current
	// configuration.
	ConditionRunning = "Running"
)

// Reasons of ConfigurationReady.
const (
	// ReasonInvalidFunctionSpec: the spec cannot be used (for example a runtime without a
	// configured image); the message says what to change.
	ReasonInvalidFunctionSpec = "InvalidFunctionSpec"
	// ReasonSourceUpdated: the source was read; for Git sources the reference was resolved to
	// the commit in the status.
	ReasonSourceUpdated = "SourceUpdated"
	// ReasonSourceUpdateFailed: the Git repository could not be read.
	ReasonSourceUpdateFailed = "SourceUpdateFailed"
	// ReasonGitAuthorizationFailed: the Git repository refused the credentials.
	ReasonGitAuthorizationFailed = "GitAuthorizationFailed"
	// ReasonUnpinnedDependencies: the Function is configured, but some dependencies are not
	// pinned to an exact version (for example "latest", "*" or a range), so a restarted Pod may
	// run different code. The condition stays True; the message names the dependencies.
	ReasonUnpinnedDependencies = "UnpinnedDependencies"
	// ReasonConfigMapCreated: the build input ConfigMap was created (build mode).
	ReasonConfigMapCreated = "ConfigMapCreated"
	// ReasonConfigMapUpdated: the build input ConfigMap was updated (build mode).
	ReasonConfigMapUpdated = "ConfigMapUpdated"
	// ReasonConfigMapFailed: the build input ConfigMap could not be written (build mode).
	ReasonConfigMapFailed = "ConfigMapFailed"
)

// Reasons of BuildReady.
const (
	// ReasonBuildNotRequired: buildless mode, no image is built.
	ReasonBuildNotRequired = "BuildNotRequired"
	// ReasonJobCreated: a build Job was created.
	ReasonJobCreated = "JobCreated"
	// ReasonJobUpdated: a build Job was updated.
	ReasonJobUpdated = "JobUpdated"
	// ReasonJobRunning: the build Job is running.
	ReasonJobRunning = "JobRunning"
	// ReasonJobFinished: the image was built and pushed.
	ReasonJobFinished = "JobFinished"
	// ReasonJobFailed: the build Job failed; its logs tell why.
	ReasonJobFailed = "JobFailed"
	// ReasonJobsDeleted: outdated build Jobs were deleted.
	ReasonJobsDeleted = "JobsDeleted"
	// ReasonRegistryNotConfigured: build mode has no usable registry configuration.
	ReasonRegistryNotConfigured = "RegistryNotConfigured"
	// ReasonJobWaiting: the build waits for a slot, as many builds as the controller's
	// configuration allows at once are running.
	ReasonJobWaiting = "JobWaiting"
	// ReasonPodSecurityRestricted: build Pods cannot run in the Function's namespace, which
	// enforces the restricted Pod Security Standard; the message suggests buildless mode.
	ReasonPodSecurityRestricted = "PodSecurityRestricted"
)

// Reasons of Running.
const (
	// ReasonDeploymentCreated: the Function's Deployment was created.
	ReasonDeploymentCreated = "DeploymentCreated"
	// ReasonDeploymentUpdated: the Deployment was updated (image, code, scaling, env or labels).
	ReasonDeploymentUpdated = "DeploymentUpdated"
	// ReasonDeploymentFailed: the Function's Pods crash or cannot start.
	ReasonDeploymentFailed = "DeploymentFailed"
	// ReasonDeploymentWaiting: the Deployment is rolling out.
	ReasonDeploymentWaiting = "DeploymentWaiting"
	// ReasonDeploymentReady: the Deployment is available.
	ReasonDeploymentReady = "DeploymentReady"
	// ReasonServiceCreated: the Function's Service was created.
	ReasonServiceCreated = "ServiceCreated"
	// ReasonServiceUpdated: the Function's Service was updated.
	ReasonServiceUpdated = "ServiceUpdated"
	// ReasonServiceFailed: the Function's Service could not be written.
	ReasonServiceFailed = "ServiceFailed"
	// ReasonHPACreated: the HorizontalPodAutoscaler for scaleConfig was created.
	ReasonHPACreated = "HorizontalPodAutoscalerCreated"
	// ReasonHPAUpdated: the HorizontalPodAutoscaler was updated.
	ReasonHPAUpdated = "HorizontalPodAutoscalerUpdated"
	// ReasonHPADeleted: scaleConfig was removed, so was the HorizontalPodAutoscaler.
	ReasonHPADeleted = "HorizontalPodAutoscalerDeleted"
	// ReasonMinReplicasUnavailable: fewer Pods are available than required.
	ReasonMinReplicasUnavailable = "MinimumReplicasUnavailable"
)
