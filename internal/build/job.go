package build

import (
	"maps"
	"path"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/runtime"
)

// Containers, paths and limits of build Jobs.
const (
	// ExecutorContainer is the image builder container.
	ExecutorContainer = "executor"
	// RepoFetcherContainer is the init container that fetches Git sources.
	RepoFetcherContainer = "repo-fetcher"

	// WorkspaceDir is the build context.
	WorkspaceDir = "/workspace"
	// DockerfilePath is where the runtime's Dockerfile is mounted.
	DockerfilePath = WorkspaceDir + "/Dockerfile"
	// SourceDir holds the Function's code: the build input ConfigMap, or the Git checkout.
	SourceDir = WorkspaceDir + "/src"
	// DockerConfigDir holds the registry credentials as config.json, where the image
	// builder looks for them.
	DockerConfigDir = "/kaniko/.docker"
	// GitAuthDir is where the Git credentials Secret is mounted in the repo-fetcher.
	GitAuthDir = "/serverless/git-auth"

	// BaseImageBuildArg is the Dockerfile argument that receives the runtime image.
	BaseImageBuildArg = "base_image"

	// JobBackoffLimit is how often a failed build Pod is retried.
	JobBackoffLimit int32 = 1
	// JobActiveDeadlineSeconds bounds a build, including the time its Pod waits to be
	// scheduled or for its images, so that a stuck build gives its slot back (see Gate).
	JobActiveDeadlineSeconds int64 = 30 * 60
)

// Volumes of build Pods.
const (
	volumeWorkspace    = "workspace"
	volumeSource       = "source"
	volumeDockerfile   = "dockerfile"
	volumeDockerConfig = "registry-config"
	volumeGitAuth      = "git-auth"
	volumeFetcherTmp   = "fetcher-tmp"
)

// The command line of the Git fetcher image, which the repo-fetcher init container runs
// (see RepoFetcherArgs): the same image and contract as the buildless Pods' init container.
const (
	RepoFetcherFlagRepository     = "--repository"
	RepoFetcherFlagCommit         = "--commit"
	RepoFetcherFlagBaseDir        = "--base-dir"
	RepoFetcherFlagDestination    = "--dest"
	RepoFetcherFlagSSHKeyFile     = "--ssh-key-file"
	RepoFetcherFlagKnownHostsFile = "--known-hosts-file"

	// EnvGitUsername and EnvGitPassword carry basic credentials, EnvGitSSHKeyPassword the
	// optional passphrase of an SSH key.
	EnvGitUsername       = "GIT_USERNAME"
	EnvGitPassword       = "GIT_PASSWORD"
	EnvGitSSHKeyPassword = "GIT_SSH_KEY_PASSWORD"

	// Keys of the Git credentials Secret.
	GitSecretUsernameKey   = "username"
	GitSecretPasswordKey   = "password"
	GitSecretKeyKey        = "key"
	GitSecretKnownHostsKey = "knownHosts"

	// repoFetcherUser is the unprivileged user and group of the repo-fetcher.
	repoFetcherUser int64 = 1000
)

// sourceFiles returns the file names of the source and the dependency file of a runtime,
// as the runtime catalog names them.
func sourceFiles(rt serverlessv1alpha2.Runtime) (handler, deps string, nodeJS bool) {
	r, ok := runtime.Lookup(string(rt))
	if !ok {
		// The API only admits catalog runtimes; decide by language name otherwise.
		if strings.HasPrefix(string(rt), runtime.LanguagePython) {
			return "handler.py", "requirements.txt", false
		}
		return "handler.js", "package.json", true
	}
	return r.HandlerFile, r.DepsFile, r.Language == runtime.LanguageNodeJS
}

// sourceData is the content of the build input ConfigMap of an inline Function: the source
// and the dependency file under the runtime's file names. The dependency file is always
// there, so that Dockerfiles can copy it unconditionally; empty Node.js dependencies
// become "{}", an empty package.json being invalid.
func sourceData(fn *serverlessv1alpha2.Function) (data map[string]string, handler, deps string) {
	handler, deps, nodeJS := sourceFiles(fn.Spec.Runtime)
	var src, dependencies string
	if in := fn.Spec.Source.Inline; in != nil {
		src, dependencies = in.Source, in.Dependencies
	}
	if nodeJS && strings.TrimSpace(dependencies) == "" {
		dependencies = "{}"
	}
	return map[string]string{handler: src, deps: dependencies}, handler, deps
}

// SourceConfigMapName is the name of the build input ConfigMap of an inline Function:
// <fn>-build-src-<hash of its content>, at most 63 characters.
func SourceConfigMapName(fn *serverlessv1alpha2.Function) string {
	data, handler, deps := sourceData(fn)
	return boundedName(fn.Name, "-build-src-"+sourceHash(data, handler, deps))
}

// SourceConfigMap is the build input of an inline Function: its source and dependency file
// under the runtime's file names (handler.js and package.json, or handler.py and
// requirements.txt). The ConfigMap is immutable and named after its content
// (SourceConfigMapName), so a build always sees the code it was started for; the caller
// deletes the ones that no build Job needs any more. It is labelled like every object of
// the Function, with LabelResource=build-source. It returns nil for Git sources.
func SourceConfigMap(fn *serverlessv1alpha2.Function) *corev1.ConfigMap {
	if fn.Spec.Source.Inline == nil {
		return nil
	}
	data, _, _ := sourceData(fn)
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      SourceConfigMapName(fn),
			Namespace: fn.Namespace,
			Labels:    Labels(fn, ResourceBuildSource),
		},
		Immutable: ptr.To(true),
		Data:      data,
	}
}

// JobInput is what a build Job needs besides the Function.
type JobInput struct {
	// Config gives the executor image and arguments, the repo-fetcher image
	// (GitFetcherImage), the Dockerfile ConfigMap prefix and the build presets.
	Config *functionconfig.Config
	// PushAddress is the registry the image is pushed to (Registry.PushAddress).
	PushAddress string
	// RuntimeImage is the image the Dockerfile builds on (build argument base_image).
	RuntimeImage string
	// Commit is the resolved commit of a Git source (status.commit); unused for inline.
	Commit string
	// RegistrySecretName is the registry Secret in the Function's namespace with
	// .dockerconfigjson; empty means RegistrySecretCopyName.
	RegistrySecretName string
}

// Tag is the image tag the Job of fn builds: ContentHash of the Function with the input's
// runtime image and commit.
func (in JobInput) Tag(fn *serverlessv1alpha2.Function) string {
	return ContentHash(fn, in.RuntimeImage, in.Commit)
}

// Image is the image the Job of fn pushes: ImageName with the push address and Tag.
func (in JobInput) Image(fn *serverlessv1alpha2.Function) string {
	return ImageName(in.PushAddress, fn.Namespace, fn.Name, in.Tag(fn))
}

// Job is the build Job of a Function. It is named JobName(fn, tag) with tag = in.Tag(fn),
// so there is at most one Job per content, and labelled like every object of the Function
// with LabelResource=build-job and LabelContentHash=tag, on the Job and on its Pod.
//
// The Pod runs the executor container (in.Config.Build.ExecutorImage) with the configured
// executor arguments followed by --destination=<in.Image(fn)>,
// --context=dir:///workspace, --dockerfile=/workspace/Dockerfile and
// --build-arg=base_image=<in.RuntimeImage>. It mounts the Dockerfile from the ConfigMap
// <prefix><runtime>, the code in /workspace/src (the SourceConfigMap of an inline Function,
// or an emptyDir the repo-fetcher init container clones the commit into) and the
// registry credentials as /kaniko/.docker/config.json. Resources come from
// spec.resourceConfiguration.build (BuildResources). The Pod runs as serverless-function
// without a service account token, and outside a service mesh, so the Job can complete.
//
// The executor runs as root (see the package documentation): do not create this Job in a
// namespace that enforces the restricted Pod Security Standard. The Job keeps a small
// backoffLimit and no ttlSecondsAfterFinished: the controller deletes Jobs it no longer
// needs. The caller sets the Function as the Job's controlling owner.
func Job(fn *serverlessv1alpha2.Function, in JobInput) *batchv1.Job {
	cfg := in.Config
	if cfg == nil {
		cfg = functionconfig.Default()
	}
	tag := in.Tag(fn)
	labels := Labels(fn, ResourceBuildJob)
	labels[LabelContentHash] = tag
	secretName := in.RegistrySecretName
	if secretName == "" {
		secretName = RegistrySecretCopyName
	}
	resources := BuildResources(fn, cfg.Build.Presets)

	args := slices.Clone(cfg.Build.ExecutorArgs)
	args = append(args,
		"--destination="+in.Image(fn),
		"--context=dir://"+WorkspaceDir,
		"--dockerfile="+DockerfilePath,
		"--build-arg="+BaseImageBuildArg+"="+in.RuntimeImage,
	)

	executor := corev1.Container{
		Name:      ExecutorContainer,
		Image:     cfg.Build.ExecutorImage,
		Args:      args,
		Resources: resources,
		VolumeMounts: []corev1.VolumeMount{
			{Name: volumeWorkspace, MountPath: WorkspaceDir},
			{Name: volumeDockerfile, MountPath: DockerfilePath, SubPath: functionconfig.DockerfileKey, ReadOnly: true},
			{Name: volumeSource, MountPath: SourceDir, ReadOnly: fn.Spec.Source.Inline != nil},
			{Name: volumeDockerConfig, MountPath: DockerConfigDir, ReadOnly: true},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}

	volumes := []corev1.Volume{
		{Name: volumeWorkspace, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: volumeDockerfile, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cfg.DockerfileConfigMapName(string(fn.Spec.Runtime))},
			Items:                []corev1.KeyToPath{{Key: functionconfig.DockerfileKey, Path: functionconfig.DockerfileKey}},
		}}},
		{Name: volumeDockerConfig, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secretName,
			Items:      []corev1.KeyToPath{{Key: KeyDockerConfigJSON, Path: "config.json"}},
		}}},
	}

	var (
		initContainers []corev1.Container
		podSecurity    *corev1.PodSecurityContext
	)
	if git := fn.Spec.Source.GitRepository; git != nil {
		fetcher, fetcherVolumes := repoFetcher(git, in.Commit, cfg.GitFetcherImage)
		initContainers = append(initContainers, fetcher)
		volumes = append(volumes, corev1.Volume{Name: volumeSource, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		volumes = append(volumes, fetcherVolumes...)
		// The credentials are readable by the fetcher's group only.
		podSecurity = &corev1.PodSecurityContext{FSGroup: ptr.To(repoFetcherUser)}
	} else {
		volumes = append(volumes, corev1.Volume{Name: volumeSource, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: SourceConfigMapName(fn)},
		}}})
	}

	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      JobName(fn.Name, tag),
			Namespace: fn.Namespace,
			Labels:    labels,
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(JobBackoffLimit),
			ActiveDeadlineSeconds: ptr.To(JobActiveDeadlineSeconds),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: maps.Clone(labels),
					// A mesh sidecar would keep the Pod, and so the Job, running.
					Annotations: map[string]string{"sidecar.istio.io/inject": "false"},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           serverlessv1alpha2.FunctionServiceAccount,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              podSecurity,
					InitContainers:               initContainers,
					Containers:                   []corev1.Container{executor},
					Volumes:                      volumes,
				},
			},
		},
	}
}

// RepoFetcherArgs are the arguments of the repo-fetcher: clone repository git.url into
// its /tmp, check out commit and copy the folder git.baseDir of it into dest:
//
//	--repository=<url> --commit=<commit> --base-dir=<baseDir> --dest=<dest>
//
// followed, for an SSH key, by --ssh-key-file and --known-hosts-file in /serverless/git-auth,
// where the credentials Secret is mounted. Basic credentials and the key's passphrase come
// as environment variables (see repoFetcher).
func RepoFetcherArgs(git *serverlessv1alpha2.GitRepositorySource, commit, dest string) []string {
	args := []string{
		RepoFetcherFlagRepository + "=" + git.URL,
		RepoFetcherFlagCommit + "=" + commit,
		RepoFetcherFlagBaseDir + "=" + git.BaseDir,
		RepoFetcherFlagDestination + "=" + dest,
	}
	if git.Auth != nil && git.Auth.SecretName != "" && git.Auth.Type == serverlessv1alpha2.RepositoryAuthSSHKey {
		args = append(args,
			RepoFetcherFlagSSHKeyFile+"="+path.Join(GitAuthDir, GitSecretKeyKey),
			RepoFetcherFlagKnownHostsFile+"="+path.Join(GitAuthDir, GitSecretKnownHostsKey),
		)
	}
	return args
}

// repoFetcher is the init container that fetches a Git source into SourceDir, and the
// volumes it alone needs. Unlike the executor it runs unprivileged, with a read-only root
// filesystem and an emptyDir /tmp for the clone.
func repoFetcher(git *serverlessv1alpha2.GitRepositorySource, commit, image string) (corev1.Container, []corev1.Volume) {
	c := corev1.Container{
		Name:  RepoFetcherContainer,
		Image: image,
		Args:  RepoFetcherArgs(git, commit, SourceDir),
		VolumeMounts: []corev1.VolumeMount{
			{Name: volumeSource, MountPath: SourceDir},
			{Name: volumeFetcherTmp, MountPath: "/tmp"},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To(repoFetcherUser),
			RunAsGroup:               ptr.To(repoFetcherUser),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	volumes := []corev1.Volume{{Name: volumeFetcherTmp, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}

	auth := git.Auth
	if auth == nil || auth.SecretName == "" {
		return c, volumes
	}
	switch auth.Type {
	case serverlessv1alpha2.RepositoryAuthSSHKey:
		c.Env = []corev1.EnvVar{secretEnv(EnvGitSSHKeyPassword, auth.SecretName, GitSecretPasswordKey, true)}
	default:
		c.Env = []corev1.EnvVar{
			secretEnv(EnvGitUsername, auth.SecretName, GitSecretUsernameKey, false),
			secretEnv(EnvGitPassword, auth.SecretName, GitSecretPasswordKey, false),
		}
	}
	// The Secret is mounted whatever the type, read-only and for the fetcher's group only.
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeGitAuth, MountPath: GitAuthDir, ReadOnly: true})
	volumes = append(volumes, corev1.Volume{Name: volumeGitAuth, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName:  auth.SecretName,
		DefaultMode: ptr.To[int32](0o440),
	}}})
	return c, volumes
}

func secretEnv(name, secret, key string, optional bool) corev1.EnvVar {
	ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	if optional {
		ref.Optional = ptr.To(true)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
}

// BuildResources are the resources of a Function's build container:
// spec.resourceConfiguration.build.resources when set, else the preset it names, else the
// default preset. A preset missing from presets falls back to the default one; when that
// is missing too, the container gets no resources.
func BuildResources(fn *serverlessv1alpha2.Function, presets functionconfig.Presets) corev1.ResourceRequirements {
	var profile string
	if rc := fn.Spec.ResourceConfiguration; rc != nil && rc.Build != nil {
		if rc.Build.Resources != nil {
			return *rc.Build.Resources.DeepCopy()
		}
		profile = rc.Build.Profile
	}
	if p, ok := presets.Get(profile); ok {
		return p.ResourceRequirements()
	}
	if p, ok := presets.Get(""); ok {
		return p.ResourceRequirements()
	}
	return corev1.ResourceRequirements{}
}
