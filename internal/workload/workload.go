// Package workload builds the Kubernetes objects that run a Function in buildless mode: the
// source ConfigMap, the Deployment and the Service. The builders are pure: they read the
// Function, the controller's configuration and the resolved source, and return the desired
// objects with a hash annotation (see HashAnnotation) that lets the caller skip writes when the
// live object already carries the same hash.
package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/runtime"
)

// Annotations and label values the builders set.
const (
	// HashAnnotation holds a hash of everything the controller sets on an object. An object
	// whose annotation equals the desired object's needs no write.
	HashAnnotation = serverlessv1alpha2.ReservedKeyPrefix + "spec-hash"
	// ChecksumAnnotation holds, on the Pod template, a checksum of the Function's source
	// (inline code and dependencies, or the Git commit), so that a source change rolls the Pods.
	ChecksumAnnotation = serverlessv1alpha2.ReservedKeyPrefix + "checksum"

	// ResourceService is the value of LabelResource on the Function's Service.
	ResourceService = "service"
	// ResourceSource is the value of LabelResource on the buildless source ConfigMap; it
	// tells it apart from the build-input ConfigMaps of build mode, which carry no such label.
	ResourceSource = "source"
)

// Names of the containers and volumes of a Function Pod.
const (
	FunctionContainer  = "function"
	GitFetchContainer  = "fetch-source"
	sourceVolume       = "source"
	registryVolume     = "package-registry-config"
	gitAuthVolume      = "git-auth"
	secretVolumePrefix = "secret-mount-"
	writableVolumePref = "writable-"
)

// Paths inside the Pod used for Git sources.
const (
	// GitAuthDir is where the init container reads the Git credentials Secret (SSH keys).
	GitAuthDir = "/serverless/git-auth"
	// GitAppDir is where the init container sees the emptyDir that is the main container's
	// runtime.AppDir, so that files besides the handler reach the runtime too.
	GitAppDir = "/serverless/app"
)

// Params are the inputs of the builders.
type Params struct {
	// Function to run. Its name, namespace and UID must be set.
	Function *serverlessv1alpha2.Function
	// Config is the controller's configuration.
	Config *functionconfig.Config
	// Runtime is the Function's runtime (runtime.Lookup of Function.Spec.Runtime).
	Runtime runtime.Runtime
	// Commit is the Git commit a Git Function runs; empty for inline sources.
	Commit string
	// DeploymentName is the name of the Function's existing Deployment, kept when it is
	// updated in place (Kyma's legacy controller generated names like <fn>-x7k2p); empty
	// means DeploymentName(Function).
	DeploymentName string
	// BuiltImage, when set, is the image built for the Function in build mode: the
	// Deployment runs it with its own entrypoint instead of the runtime image with the
	// mounted source.
	BuiltImage string
	// PullSecret names the Secret in the Function's namespace that pulls BuiltImage.
	PullSecret string
}

// DeploymentName is the name of a new Function's Deployment.
func DeploymentName(fn *serverlessv1alpha2.Function) string { return fn.Name }

// deploymentName is the name of the Deployment the builders write.
func (p Params) deploymentName() string {
	if p.DeploymentName != "" {
		return p.DeploymentName
	}
	return DeploymentName(p.Function)
}

// ServiceName is the name of the Function's Service.
func ServiceName(fn *serverlessv1alpha2.Function) string { return fn.Name }

// SourceConfigMapName is the name of the ConfigMap with the Function's inline source.
func SourceConfigMapName(fn *serverlessv1alpha2.Function) string { return fn.Name + "-source" }

// SelectorLabels select the Function's Pods: the labels Kyma's legacy controller used, so that
// its Deployments, whose selector is immutable, can be adopted in place.
func SelectorLabels(fn *serverlessv1alpha2.Function) map[string]string {
	return map[string]string{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         string(fn.UID),
		serverlessv1alpha2.LabelResource:     serverlessv1alpha2.ResourceDeployment,
	}
}

// PodSelector is SelectorLabels as a label selector string (Function status.podSelector).
func PodSelector(fn *serverlessv1alpha2.Function) string {
	return labels.SelectorFromSet(SelectorLabels(fn)).String()
}

// objectLabels are the labels of an object the controller creates for the Function.
func objectLabels(fn *serverlessv1alpha2.Function, resource string) map[string]string {
	return map[string]string{
		serverlessv1alpha2.LabelFunctionName: fn.Name,
		serverlessv1alpha2.LabelManagedBy:    serverlessv1alpha2.ManagedByFunctionController,
		serverlessv1alpha2.LabelUUID:         string(fn.UID),
		serverlessv1alpha2.LabelResource:     resource,
	}
}

// OwnerReference makes the Function the controlling owner, so that the garbage collector
// deletes the object with the Function.
func OwnerReference(fn *serverlessv1alpha2.Function) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion:         serverlessv1alpha2.GroupVersion.String(),
		Kind:               "Function",
		Name:               fn.Name,
		UID:                fn.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

func objectMeta(fn *serverlessv1alpha2.Function, name, resource string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       fn.Namespace,
		Labels:          objectLabels(fn, resource),
		OwnerReferences: []metav1.OwnerReference{OwnerReference(fn)},
	}
}

// SetHash stores the hash of obj (computed without the annotation) in HashAnnotation, for
// objects built elsewhere that the caller writes only when their hash changes.
func SetHash(obj client.Object) error { return setHash(obj) }

// setHash stores the hash of obj (computed without the annotation) in HashAnnotation.
func setHash(obj client.Object) error {
	ann := obj.GetAnnotations()
	delete(ann, HashAnnotation)
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("hash %s: %w", obj.GetName(), err)
	}
	if ann == nil {
		ann = map[string]string{}
	}
	ann[HashAnnotation] = shortHash(data)
	obj.SetAnnotations(ann)
	return nil
}

// Hash returns the HashAnnotation of an object, empty if it has none.
func Hash(obj client.Object) string { return obj.GetAnnotations()[HashAnnotation] }

func shortHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
