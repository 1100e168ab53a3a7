// Package build holds the pure builders and decisions of build mode: the image tag of a
// Function, the build input ConfigMap, the image builder (Kaniko) Job, the registry Secret
// copy and ServiceAccount of a namespace, the HorizontalPodAutoscaler of scaleConfig, the
// limit on simultaneous builds, and which objects are build leftovers once Functions run in
// buildless mode.
//
// Nothing here talks to the API server. Every builder returns a complete object without an
// owner reference: the caller sets it (controllerutil.SetControllerReference with the
// Function) before it creates the object, so that deleting a Function deletes its build
// Jobs, build input ConfigMaps and HorizontalPodAutoscaler.
//
// # Names and labels
//
// Every object that belongs to one Function carries LabelFunctionName, LabelManagedBy
// (function-controller) and LabelUUID, the three labels of Kyma's legacy controller, and
// LabelResource saying what it is: ResourceBuildJob on build Jobs and their Pods,
// ResourceBuildSource on build input ConfigMaps. Build Jobs also carry LabelContentHash, the
// image tag they build. Names are derived deterministically from the Function's name and
// the content they describe (see JobName and SourceConfigMapName), and are at most 63
// characters long, whatever the length of the Function's name.
//
// # Build Pods and Pod Security
//
// The image builder unpacks the runtime image into its own root filesystem and runs the
// Dockerfile's RUN steps, so it runs as root with the container runtime's default
// capabilities. Build Pods therefore meet the baseline Pod Security Standard but not the
// restricted one, and this package does not pretend otherwise: in a namespace that enforces
// restricted (RestrictedNamespace) the API server refuses to create build Pods. The
// Function should then report MessageRestrictedNamespace instead of creating Jobs that
// cannot start; IsPodSecurityRefusal and PodSecurityRefusal recognise the refusal in the
// Job's Events when the policy comes from elsewhere (for example a cluster-wide default).
// Buildless Functions run in such namespaces.
//
// # The build workspace
//
// The executor builds with --context=dir:///workspace and --dockerfile=/workspace/Dockerfile.
// The Dockerfile comes from the runtime's Dockerfile ConfigMap (<prefix><runtime>, key
// Dockerfile); it receives the runtime image as the build argument base_image. The
// Function's code is in /workspace/src, under the file names of the runtime catalog
// (handler.js and package.json, or handler.py and requirements.txt): from the build input
// ConfigMap for inline sources, or cloned by the repo-fetcher init container for Git
// sources. Registry credentials are the namespace's copy of the registry Secret, mounted as
// /kaniko/.docker/config.json.
package build
