package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DockerRegistrySpec configures the in-cluster image registry used by Serverless build mode.
type DockerRegistrySpec struct {
	// Storage selects where the registry keeps its images. Without it, images live on the
	// file system of a PersistentVolumeClaim that the module creates and manages.
	// +optional
	Storage *RegistryStorage `json:"storage,omitempty"`

	// ExternalAccess exposes the registry outside the cluster.
	// +optional
	ExternalAccess *ExternalAccess `json:"externalAccess,omitempty"`
}

// RegistryStorage is the storage of the registry's images.
type RegistryStorage struct {
	// DeleteEnabled allows deleting images through the registry API.
	// +optional
	DeleteEnabled bool `json:"deleteEnabled,omitempty"`

	// PVC stores the images on the file system of an existing PersistentVolumeClaim
	// instead of one managed by the module.
	// +optional
	PVC *StoragePVC `json:"pvc,omitempty"`
}

// StoragePVC names an existing PersistentVolumeClaim in the module's namespace.
type StoragePVC struct {
	// Name of the PersistentVolumeClaim.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="pvc.name must be a valid PersistentVolumeClaim name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
	Name string `json:"name"`
}

// ExternalAccess controls access to the registry from outside the cluster.
type ExternalAccess struct {
	// Enabled exposes the registry outside the cluster.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
}

// DockerRegistryStatus is the observed state of the DockerRegistry module.
type DockerRegistryStatus struct {
	// State is the Kyma module state: Ready, Processing, Warning, Error or Deleting.
	// +kubebuilder:validation:Enum=Ready;Processing;Warning;Error;Deleting
	// +optional
	State string `json:"state,omitempty"`

	// Served is True for the one DockerRegistry resource the operator manages, False for any other.
	// +kubebuilder:validation:Enum=True;False
	Served string `json:"served"`

	// Conditions are Configured, Installed, Deleted and DeploymentFailure.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DockerRegistry installs an in-cluster image registry. The operator serves one
// DockerRegistry resource per cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={kyma-modules,kyma-docker-registry}
// +kubebuilder:printcolumn:name="Configured",type="string",JSONPath=".status.conditions[?(@.type=='Configured')].status"
// +kubebuilder:printcolumn:name="Installed",type="string",JSONPath=".status.conditions[?(@.type=='Installed')].status"
// +kubebuilder:printcolumn:name="generation",type="integer",JSONPath=".metadata.generation"
// +kubebuilder:printcolumn:name="age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="state",type="string",JSONPath=".status.state"
type DockerRegistry struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec DockerRegistrySpec `json:"spec,omitempty"`
	// +optional
	Status DockerRegistryStatus `json:"status,omitempty"`
}

// DockerRegistryList is a list of DockerRegistry resources.
//
// +kubebuilder:object:root=true
type DockerRegistryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DockerRegistry `json:"items"`
}

func init() {
	register(&DockerRegistry{}, &DockerRegistryList{})
}
