package build

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// Keys of the registry Secret. The push and pull addresses have two spellings each: the
// DockerRegistry module's (pushRegistryAddress, pullRegistryAddress) and Kyma's legacy one
// (registryAddress, serverAddress). The first spelling wins when both are set.
const (
	KeyPushRegistryAddress = "pushRegistryAddress"
	KeyRegistryAddress     = "registryAddress"
	KeyPullRegistryAddress = "pullRegistryAddress"
	KeyServerAddress       = "serverAddress"
	KeyUsername            = "username"
	KeyPassword            = "password"
	KeyDockerConfigJSON    = corev1.DockerConfigJsonKey
	KeyIsInternal          = "isInternal"
)

// Registry is where build Jobs push Function images and where nodes pull them from.
type Registry struct {
	// PushAddress is the registry (and optional path) build Jobs push to.
	PushAddress string
	// PullAddress is the registry (and optional path) nodes pull from; for an in-cluster
	// registry exposed through a NodePort it differs from PushAddress.
	PullAddress string
	// Username and Password are the credentials, when the Secret has them.
	Username string
	Password string
	// DockerConfigJSON is the Docker config with the credentials: the Secret's
	// .dockerconfigjson, or one made from Username and Password for both addresses.
	DockerConfigJSON []byte
	// Internal is true for the in-cluster registry.
	Internal bool
}

// String describes the registry without its credentials, so that logging a Registry
// leaks nothing.
func (r Registry) String() string {
	return fmt.Sprintf("{PushAddress:%s PullAddress:%s Internal:%t Credentials:<redacted>}", r.PushAddress, r.PullAddress, r.Internal)
}

// GoString is String, for %#v.
func (r Registry) GoString() string { return "build.Registry" + r.String() }

// ParseRegistrySecret reads the registry Secret's data. It needs a push address
// (pushRegistryAddress or registryAddress) and credentials: .dockerconfigjson, or username
// and password. The pull address (pullRegistryAddress or serverAddress) defaults to the push
// address. Addresses lose a leading http:// or https:// and trailing slashes.
//
// The error names every missing or malformed key, and never contains a value of the
// Secret.
func ParseRegistrySecret(data map[string][]byte) (Registry, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// address returns the first set key's address; set is false when no key is set.
	address := func(keys ...string) (a string, set bool) {
		for _, k := range keys {
			v, ok := data[k]
			if !ok || strings.TrimSpace(string(v)) == "" {
				continue
			}
			a, err := cleanAddress(string(v))
			if err != nil {
				fail("key %s: %w", k, err)
			}
			return a, true
		}
		return "", false
	}

	push, pushSet := address(KeyPushRegistryAddress, KeyRegistryAddress)
	pull, _ := address(KeyPullRegistryAddress, KeyServerAddress)
	if !pushSet {
		fail("no push address: set key %s (or %s)", KeyPushRegistryAddress, KeyRegistryAddress)
	}
	r := Registry{
		PushAddress: push,
		PullAddress: pull,
		Username:    string(data[KeyUsername]),
		Password:    string(data[KeyPassword]),
	}
	if r.PullAddress == "" {
		r.PullAddress = r.PushAddress
	}

	if v, ok := data[KeyIsInternal]; ok && strings.TrimSpace(string(v)) != "" {
		internal, err := strconv.ParseBool(strings.TrimSpace(string(v)))
		if err != nil {
			fail("key %s: must be true or false", KeyIsInternal)
		}
		r.Internal = internal
	}

	switch cfg, ok := data[KeyDockerConfigJSON]; {
	case ok && len(cfg) > 0:
		if err := checkDockerConfig(cfg); err != nil {
			fail("key %s: %w", KeyDockerConfigJSON, err)
		}
		r.DockerConfigJSON = cfg
	case r.Username != "" && r.Password != "":
		if r.PushAddress != "" {
			r.DockerConfigJSON = dockerConfigFor(r.Username, r.Password, r.PushAddress, r.PullAddress)
		}
	case r.Username != "":
		fail("key %s is set but key %s is missing or empty", KeyUsername, KeyPassword)
	case r.Password != "":
		fail("key %s is set but key %s is missing or empty", KeyPassword, KeyUsername)
	default:
		fail("no credentials: set key %s, or keys %s and %s", KeyDockerConfigJSON, KeyUsername, KeyPassword)
	}

	if len(errs) > 0 {
		return Registry{}, fmt.Errorf("invalid registry Secret: %w", errors.Join(errs...))
	}
	return r, nil
}

// cleanAddress trims an address and checks that it can start an image reference. Its
// errors never quote the address: a mistyped one may contain credentials.
func cleanAddress(s string) (string, error) {
	a := strings.TrimSpace(s)
	for _, scheme := range []string{"https://", "http://"} {
		if len(a) >= len(scheme) && strings.EqualFold(a[:len(scheme)], scheme) {
			a = a[len(scheme):]
		}
	}
	a = strings.TrimRight(a, "/")
	switch {
	case a == "":
		return "", errors.New("is empty")
	case strings.ContainsFunc(a, unicode.IsSpace):
		return "", errors.New("must not contain whitespace")
	case strings.Contains(a, "://"):
		return "", errors.New("must be host[:port][/path], without a URL scheme other than http or https")
	case strings.Contains(a, "@"):
		return "", errors.New("must not contain credentials; put them in username and password or .dockerconfigjson")
	case strings.HasPrefix(a, "/"):
		return "", errors.New("must start with a host")
	}
	return a, nil
}

// checkDockerConfig checks that cfg is a Docker config with an auths object. It does not
// wrap JSON errors: their text may quote the content.
func checkDockerConfig(cfg []byte) error {
	var parsed struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(cfg, &parsed); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return fmt.Errorf("is not valid JSON (syntax error at byte %d)", syntax.Offset)
		}
		return errors.New(`is not a Docker config: want {"auths": {"<registry>": {...}}}`)
	}
	if parsed.Auths == nil {
		return errors.New(`has no "auths" object`)
	}
	return nil
}

type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// dockerConfigFor makes a Docker config with the credentials for the registry hosts of the
// addresses.
func dockerConfigFor(username, password string, addresses ...string) []byte {
	auth := dockerAuth{
		Username: username,
		Password: password,
		Auth:     base64.StdEncoding.EncodeToString([]byte(username + ":" + password)),
	}
	auths := map[string]dockerAuth{}
	for _, a := range addresses {
		auths[registryHost(a)] = auth
	}
	// A map of strings always marshals.
	out, _ := json.Marshal(struct {
		Auths map[string]dockerAuth `json:"auths"`
	}{auths})
	return out
}

// registryHost is the key of an address in a Docker config's auths: the host and port,
// or Docker Hub's historical key.
func registryHost(address string) string {
	host, _, _ := strings.Cut(address, "/")
	if host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io" {
		return "https://index.docker.io/v1/"
	}
	return host
}

// ImageName is the image of a Function: <registry>/<namespace>-<fn>:<tag>. Use the push
// address in build Jobs and the pull address in Deployments.
func ImageName(registryAddress, namespace, fnName, tag string) string {
	repo := namespace + "-" + fnName
	if r := strings.TrimRight(registryAddress, "/"); r != "" {
		repo = r + "/" + repo
	}
	return repo + ":" + tag
}

// RegistrySecretCopy is the copy of the registry Secret src in a namespace with Functions:
// named serverless-registry-config-default like Kyma's legacy copies, of type
// kubernetes.io/dockerconfigjson, labelled LabelConfig=credentials and LabelManagedBy, with
// all of src's data. When src has no .dockerconfigjson but a username and password, the
// copy gets one made from them, since build Jobs mount that key. Validate src with
// ParseRegistrySecret first.
//
// The copy carries no finalizer (Kyma's legacy copies carried FinalizerRegistryConfig).
// It returns nil when src is nil, or when src is itself the copy's name in that namespace:
// then src is used as it is.
func RegistrySecretCopy(src *corev1.Secret, namespace string) *corev1.Secret {
	if src == nil || (src.Namespace == namespace && src.Name == RegistrySecretCopyName) {
		return nil
	}
	data := maps.Clone(src.Data)
	if data == nil {
		data = map[string][]byte{}
	}
	if len(data[KeyDockerConfigJSON]) == 0 {
		if r, err := ParseRegistrySecret(src.Data); err == nil {
			data[KeyDockerConfigJSON] = r.DockerConfigJSON
		}
	}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      RegistrySecretCopyName,
			Namespace: namespace,
			Labels: map[string]string{
				serverlessv1alpha2.LabelConfig:    ConfigCredentials,
				serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController,
			},
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: data,
	}
}

// FunctionServiceAccount is the ServiceAccount serverless-function of a namespace in build
// mode: build Jobs and Function Pods run with it, and it pulls Function images with the
// registry Secret copy secretName. It is labelled LabelConfig=service-account and
// LabelManagedBy, like Kyma's legacy ones, so that IsBuildLeftover recognises both.
func FunctionServiceAccount(namespace, secretName string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      serverlessv1alpha2.FunctionServiceAccount,
			Namespace: namespace,
			Labels: map[string]string{
				serverlessv1alpha2.LabelConfig:    ConfigServiceAccount,
				serverlessv1alpha2.LabelManagedBy: serverlessv1alpha2.ManagedByFunctionController,
			},
		},
	}
	if secretName != "" {
		sa.ImagePullSecrets = []corev1.LocalObjectReference{{Name: secretName}}
	}
	return sa
}
