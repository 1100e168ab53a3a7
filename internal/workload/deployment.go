package workload

import (
	"fmt"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/runtime"
)

// Pod security settings: what the restricted Pod Security Standard asks for, with the uid and
// gid the runtime images run as.
const (
	RunAsUser  int64 = 1000
	RunAsGroup int64 = 1000
	FSGroup    int64 = 1000
)

// Probe settings. The startup probe allows StartupProbeTimeout for the dependency install.
const (
	HealthPath          = "/healthz"
	startupPeriod       = 5
	startupFailures     = 72
	StartupProbeTimeout = startupPeriod * startupFailures // seconds
)

// Environment variables of the Git fetcher init container.
const (
	EnvGitUsername       = "GIT_USERNAME"
	EnvGitPassword       = "GIT_PASSWORD"
	EnvGitSSHKeyPassword = "GIT_SSH_KEY_PASSWORD"
	EnvGitSSHUsername    = "GIT_SSH_USERNAME"
)

// Keys of the Git credentials Secret.
const (
	GitSecretUsernameKey   = "username"
	GitSecretPasswordKey   = "password"
	GitSecretKeyKey        = "key"
	GitSecretKnownHostsKey = "knownHosts"
)

// RuntimeImage is the image the Function's main container runs: runtimeImageOverride or the
// configured image of its runtime.
func RuntimeImage(p Params) (string, error) {
	if img := p.Function.Spec.RuntimeImageOverride; img != "" {
		return img, nil
	}
	img, ok := p.Config.RuntimeImage(p.Runtime.Name)
	if !ok {
		return "", fmt.Errorf("no image is configured for runtime %s", p.Runtime.Name)
	}
	return img, nil
}

// Resources are the main container's resources: the Function's explicit resources, or its
// profile (the configured default profile when it names none) from the runtime presets.
func Resources(p Params) (corev1.ResourceRequirements, error) {
	var profile string
	if rc := p.Function.Spec.ResourceConfiguration; rc != nil && rc.Function != nil {
		if rc.Function.Resources != nil {
			return *rc.Function.Resources.DeepCopy(), nil
		}
		profile = rc.Function.Profile
	}
	preset, ok := p.Config.RuntimePresets.Get(profile)
	if !ok {
		if profile == "" {
			profile = p.Config.RuntimePresets.Default
		}
		return corev1.ResourceRequirements{}, fmt.Errorf("resource profile %q is not configured", profile)
	}
	return preset.ResourceRequirements(), nil
}

// Deployment is the Function's Deployment (<fn>, or Params.DeploymentName when the Function
// already has one), selected by SelectorLabels, with a rolling update that never takes an
// available Pod away before its replacement is available (maxUnavailable 0, maxSurge 1), so
// that switching between the two kinds of Pod template below keeps the Function serving.
//
// Buildless (Params.BuiltImage empty): the runtime image started with Runtime.StartCommand,
// the source from the source ConfigMap (inline) or from an init container that fetches
// Params.Commit (Git), emptyDirs for the writable paths of the read-only root filesystem.
//
// Build mode (Params.BuiltImage set): the built image with its own entrypoint, pulled with
// Params.PullSecret, no source volume, and an emptyDir for the runtime's temporary directory.
//
// Both pass the restricted Pod Security Standard and have probes on /healthz. The Pod
// template's ChecksumAnnotation changes with the source. With spec.scaleConfig the
// replicas are left out: the HorizontalPodAutoscaler owns them.
func Deployment(p Params) (*appsv1.Deployment, error) {
	fn := p.Function
	if fn.Spec.Source.Inline == nil && fn.Spec.Source.GitRepository == nil {
		return nil, fmt.Errorf("function has no source")
	}
	built := p.BuiltImage != ""
	if !built && fn.Spec.Source.GitRepository != nil && p.Commit == "" {
		return nil, fmt.Errorf("git source has no resolved commit")
	}
	image := p.BuiltImage
	if !built {
		var err error
		if image, err = RuntimeImage(p); err != nil {
			return nil, err
		}
	}
	resources, err := Resources(p)
	if err != nil {
		return nil, err
	}

	var replicas *int32
	if fn.Spec.ScaleConfig == nil {
		replicas = ptr(int32(1))
		if fn.Spec.Replicas != nil {
			replicas = ptr(*fn.Spec.Replicas)
		}
	}
	maxUnavailable := intstr.FromInt32(0)
	maxSurge := intstr.FromInt32(1)

	podLabels := map[string]string{}
	for k, v := range fn.Spec.Labels {
		podLabels[k] = v
	}
	for k, v := range SelectorLabels(fn) {
		podLabels[k] = v
	}
	podAnnotations := map[string]string{}
	for k, v := range fn.Spec.Annotations {
		podAnnotations[k] = v
	}
	podAnnotations[ChecksumAnnotation] = SourceChecksum(p)

	main := corev1.Container{
		Name:                     FunctionContainer,
		Image:                    image,
		Env:                      Env(p),
		Ports:                    []corev1.ContainerPort{{Name: "http", ContainerPort: runtime.Port, Protocol: corev1.ProtocolTCP}},
		Resources:                resources,
		SecurityContext:          ContainerSecurityContext(),
		StartupProbe:             probe(startupPeriod, startupFailures),
		ReadinessProbe:           probe(5, 3),
		LivenessProbe:            probe(10, 3),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	var volumes []corev1.Volume
	writable := p.Runtime.WritableDirs()
	if built {
		// the code is in the image; only the temporary directory must be writable
		writable = nil
		if p.Runtime.TmpDir != "" {
			writable = []string{p.Runtime.TmpDir}
		}
	} else {
		main.Command = p.Runtime.StartCommand(runtime.StartOptions{
			SourceDir:         runtime.DefaultSourceDir,
			WorkDir:           p.Runtime.AppDir,
			RegistryConfigDir: runtime.DefaultRegistryConfigDir,
		})
		main.VolumeMounts = []corev1.VolumeMount{
			{Name: sourceVolume, MountPath: runtime.DefaultSourceDir, ReadOnly: true},
			{Name: registryVolume, MountPath: runtime.DefaultRegistryConfigDir, ReadOnly: true},
		}
		volumes = []corev1.Volume{
			sourceVolumeFor(fn),
			{Name: registryVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: runtime.RegistryConfigSecretName,
				Optional:   ptr(true),
			}}},
		}
	}
	for _, dir := range writable {
		name := writableVolumeName(dir)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: dir})
	}
	for i, sm := range fn.Spec.SecretMounts {
		name := fmt.Sprintf("%s%d", secretVolumePrefix, i)
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: sm.SecretName}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: sm.MountPath, ReadOnly: true})
	}

	pod := corev1.PodSpec{
		Containers:                   []corev1.Container{main},
		Volumes:                      volumes,
		SecurityContext:              PodSecurityContext(),
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
	}
	if built && p.PullSecret != "" {
		pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: p.PullSecret}}
	}
	if git := fn.Spec.Source.GitRepository; git != nil && !built {
		init, extra, err := gitFetcher(p, git)
		if err != nil {
			return nil, err
		}
		pod.InitContainers = []corev1.Container{init}
		pod.Volumes = append(pod.Volumes, extra...)
	}

	dep := &appsv1.Deployment{
		TypeMeta:   metaType("apps/v1", "Deployment"),
		ObjectMeta: objectMeta(fn, p.deploymentName(), serverlessv1alpha2.ResourceDeployment),
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(fn)},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnnotations},
				Spec:       pod,
			},
		},
	}
	if err := setHash(dep); err != nil {
		return nil, err
	}
	return dep, nil
}

// Env is the main container's environment: the Function's variables, then what the runtime
// needs (runtime.Env). A Function variable with the name of a runtime variable is dropped, and
// of repeated Function variables the last one is kept, so that every name occurs once.
func Env(p Params) []corev1.EnvVar {
	fn := p.Function
	platform := p.Runtime.Env(runtime.FunctionMeta{
		Name:                   fn.Name,
		Namespace:              fn.Namespace,
		TraceCollectorEndpoint: p.Config.TracingEndpoint,
		PublisherProxyAddress:  p.Config.EventingEndpoint,
	})
	taken := map[string]bool{}
	for _, e := range platform {
		taken[e.Name] = true
	}
	last := map[string]int{}
	for i, e := range fn.Spec.Env {
		last[e.Name] = i
	}
	env := make([]corev1.EnvVar, 0, len(fn.Spec.Env)+len(platform))
	for i, e := range fn.Spec.Env {
		if taken[e.Name] || runtime.IsReservedEnv(e.Name) || last[e.Name] != i {
			continue
		}
		env = append(env, *e.DeepCopy())
	}
	return append(env, platform...)
}

// PodSecurityContext is the Pod-level part of the restricted Pod Security Standard.
func PodSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(RunAsUser),
		RunAsGroup:     ptr(RunAsGroup),
		FSGroup:        ptr(FSGroup),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// ContainerSecurityContext is the container-level part of the restricted Pod Security
// Standard, with a read-only root filesystem.
func ContainerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Privileged:               ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// gitFetcher is the init container that clones Params.Commit and copies the base directory
// into the source volume (read by the start command) and into the runtime's AppDir (so that
// the handler's sibling files are there too), plus the volumes it alone needs.
func gitFetcher(p Params, git *serverlessv1alpha2.GitRepositorySource) (corev1.Container, []corev1.Volume, error) {
	if p.Config.GitFetcherImage == "" {
		return corev1.Container{}, nil, fmt.Errorf("no Git fetcher image is configured")
	}
	args := []string{
		"--repository=" + git.URL,
		"--commit=" + p.Commit,
		"--base-dir=" + git.BaseDir,
		"--dest=" + runtime.DefaultSourceDir,
		"--dest=" + GitAppDir,
	}
	c := corev1.Container{
		Name:  GitFetchContainer,
		Image: p.Config.GitFetcherImage,
		Args:  args,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		},
		SecurityContext: ContainerSecurityContext(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: sourceVolume, MountPath: runtime.DefaultSourceDir},
			{Name: writableVolumeName(p.Runtime.AppDir), MountPath: GitAppDir},
			// the clone goes to a temporary directory
			{Name: writableVolumeName(gitTmpDir(p)), MountPath: "/tmp"},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	var volumes []corev1.Volume
	if auth := git.Auth; auth != nil {
		switch auth.Type {
		case serverlessv1alpha2.RepositoryAuthBasic:
			c.Env = []corev1.EnvVar{
				secretEnv(EnvGitUsername, auth.SecretName, GitSecretUsernameKey, false),
				secretEnv(EnvGitPassword, auth.SecretName, GitSecretPasswordKey, false),
			}
		case serverlessv1alpha2.RepositoryAuthSSHKey:
			c.Env = []corev1.EnvVar{
				secretEnv(EnvGitSSHUsername, auth.SecretName, GitSecretUsernameKey, true),
				secretEnv(EnvGitSSHKeyPassword, auth.SecretName, GitSecretPasswordKey, true),
			}
			c.Args = append(c.Args,
				"--ssh-key-file="+path.Join(GitAuthDir, GitSecretKeyKey),
				"--known-hosts-file="+path.Join(GitAuthDir, GitSecretKnownHostsKey))
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: gitAuthVolume, MountPath: GitAuthDir, ReadOnly: true})
			volumes = append(volumes, corev1.Volume{Name: gitAuthVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName:  auth.SecretName,
				DefaultMode: ptr(int32(0o440)),
			}}})
		default:
			return corev1.Container{}, nil, fmt.Errorf("unknown Git auth type %q", auth.Type)
		}
	}
	return c, volumes, nil
}

// gitTmpDir is the writable directory the fetcher clones into: the runtime's TmpDir, which
// the Pod has as an emptyDir anyway.
func gitTmpDir(p Params) string {
	if p.Runtime.TmpDir != "" {
		return p.Runtime.TmpDir
	}
	return p.Runtime.AppDir
}

func sourceVolumeFor(fn *serverlessv1alpha2.Function) corev1.Volume {
	if fn.Spec.Source.Inline != nil {
		return corev1.Volume{Name: sourceVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: SourceConfigMapName(fn)},
		}}}
	}
	return corev1.Volume{Name: sourceVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func secretEnv(name, secret, key string, optional bool) corev1.EnvVar {
	ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	if optional {
		ref.Optional = ptr(true)
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
}

func probe(period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: HealthPath, Port: intstr.FromInt32(runtime.Port), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds:    period,
		TimeoutSeconds:   2,
		FailureThreshold: failures,
		SuccessThreshold: 1,
	}
}

// writableVolumeName names the emptyDir of a writable path: "/usr/src/app/function" becomes
// "writable-usr-src-app-function".
func writableVolumeName(dir string) string {
	name := writableVolumePref + strings.ReplaceAll(strings.Trim(path.Clean(dir), "/"), "/", "-")
	name = strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name))
	if len(name) > 63 {
		name = name[:40] + "-" + shortHash([]byte(dir))[:16]
	}
	return strings.TrimRight(name, "-")
}

func metaType(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func ptr[T any](v T) *T { return &v }
