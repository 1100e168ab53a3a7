package build

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// Values of serverlessv1alpha2.LabelResource on build mode objects. Objects of a Function
// that are not build leftovers must carry LabelResource with a value other than these (see
// IsBuildLeftover): Kyma's legacy build input ConfigMaps and Jobs carry no LabelResource.
const (
	// ResourceBuildJob marks build Jobs and their Pods.
	ResourceBuildJob = "build-job"
	// ResourceBuildSource marks build input ConfigMaps (inline source and dependencies).
	ResourceBuildSource = "build-source"
)

// Values of serverlessv1alpha2.LabelConfig on the per-namespace objects of build mode, as
// Kyma's legacy controller set them.
const (
	// ConfigCredentials marks the namespace's copy of the registry Secret.
	ConfigCredentials = "credentials"
	// ConfigServiceAccount marks the namespace's serverless-function ServiceAccount.
	ConfigServiceAccount = "service-account"
	// ConfigRuntime marks a runtime's Dockerfile ConfigMap: the chart's original in the
	// module's namespace, and its copies in namespaces with Functions.
	ConfigRuntime = "runtime"
)

// LabelContentHash holds the content hash (the image tag) a build Job builds.
const LabelContentHash = "serverless.kyma-project.io/build-hash"

// RegistrySecretCopyName is the name of the registry Secret copy in each namespace with
// Functions, the name Kyma's legacy controller used.
const RegistrySecretCopyName = "serverless-registry-config-default"

// maxNameLength is the longest name of a Job (its Pods get it as a label value) and of
// the other objects built here.
const maxNameLength = 63

// Labels returns the labels of an object that belongs to the Function: the three labels of
// Kyma's legacy controller plus LabelResource when resource is not empty.
func Labels(fn *serverlessv1alpha2.Function, resource string) map[string]string {
	labels := map[string]string{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         string(fn.UID),
	}
	if resource != "" {
		labels[serverlessv1alpha2.LabelResource] = resource
	}
	return labels
}

// JobName is the name of the build Job of a Function for an image tag: <fn>-build-<tag>.
// When that is longer than 63 characters, the Function's name is shortened and followed by
// a short hash of the full name, so that two long names with a common prefix still get
// different Job names.
func JobName(fnName, tag string) string {
	return boundedName(fnName, "-build-"+tag)
}

// boundedName returns base+suffix, or, when that is longer than maxNameLength, base cut
// short, a hash of the full base and suffix. The suffix must leave room for the hash.
func boundedName(base, suffix string) string {
	if len(base)+len(suffix) <= maxNameLength {
		return base + suffix
	}
	sum := sha256.Sum256([]byte(base))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := maxNameLength - len(suffix) - len(hash) - 1
	if keep < 1 {
		keep = 1
	}
	short := strings.TrimRight(base[:min(keep, len(base))], "-.")
	name := short + "-" + hash + suffix
	if len(name) > maxNameLength {
		name = strings.TrimRight(name[:maxNameLength], "-.")
	}
	return name
}

// hasFunctionLabels reports whether labels carry the three labels of an object of a
// Function.
func hasFunctionLabels(labels map[string]string) bool {
	return labels[serverlessv1alpha2.LabelManagedBy] == serverlessv1alpha2.ManagedByFunctionController &&
		labels[serverlessv1alpha2.LabelFunctionName] != "" &&
		labels[serverlessv1alpha2.LabelUUID] != ""
}

// resourceIs reports whether LabelResource is value or absent (Kyma's legacy build objects
// carry none).
func resourceIs(labels map[string]string, value string) bool {
	r, ok := labels[serverlessv1alpha2.LabelResource]
	return !ok || r == "" || r == value
}
