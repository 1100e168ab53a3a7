package build

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

const (
	secretUser     = "robot$builder-7x"
	secretPassword = "pa55-W0rd:never-print-me"
)

func dockerConfigJSON(host string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + secretPassword))
	return fmt.Appendf(nil, `{"auths":{%q:{"username":%q,"password":%q,"auth":%q}}}`, host, secretUser, secretPassword, auth)
}

func TestParseRegistrySecret(t *testing.T) {
	cases := []struct {
		name string
		data map[string][]byte
		want Registry
	}{
		{
			name: "DockerRegistry module keys",
			data: map[string][]byte{
				"pushRegistryAddress": []byte("dockerregistry.kyma-system.svc.cluster.local:5000"),
				"pullRegistryAddress": []byte("localhost:32137"),
				"username":            []byte(secretUser),
				"password":            []byte(secretPassword),
				".dockerconfigjson":   dockerConfigJSON("dockerregistry.kyma-system.svc.cluster.local:5000"),
				"isInternal":          []byte("true"),
			},
			want: Registry{
				PushAddress:      "dockerregistry.kyma-system.svc.cluster.local:5000",
				PullAddress:      "localhost:32137",
				Username:         secretUser,
				Password:         secretPassword,
				DockerConfigJSON: dockerConfigJSON("dockerregistry.kyma-system.svc.cluster.local:5000"),
				Internal:         true,
			},
		},
		{
			name: "Kyma legacy keys",
			data: map[string][]byte{
				"registryAddress":   []byte("serverless-docker-registry.kyma-system.svc.cluster.local:5000"),
				"serverAddress":     []byte("localhost:32137"),
				".dockerconfigjson": dockerConfigJSON("localhost:32137"),
				"isInternal":        []byte("false"),
			},
			want: Registry{
				PushAddress:      "serverless-docker-registry.kyma-system.svc.cluster.local:5000",
				PullAddress:      "localhost:32137",
				DockerConfigJSON: dockerConfigJSON("localhost:32137"),
			},
		},
		{
			name: "new keys win over legacy ones; scheme and slashes are dropped",
			data: map[string][]byte{
				"pushRegistryAddress": []byte(" https://ghcr.io/team/ "),
				"registryAddress":     []byte("ignored.example.com"),
				".dockerconfigjson":   dockerConfigJSON("ghcr.io"),
			},
			want: Registry{PushAddress: "ghcr.io/team", PullAddress: "ghcr.io/team", DockerConfigJSON: dockerConfigJSON("ghcr.io")},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseRegistrySecret(c.data)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(c.want))
		})
	}
}

func TestParseRegistrySecretMakesDockerConfig(t *testing.T) {
	g := NewWithT(t)
	r, err := ParseRegistrySecret(map[string][]byte{
		"registryAddress": []byte("registry.example.com:5000/functions"),
		"serverAddress":   []byte("docker.io"),
		"username":        []byte(secretUser),
		"password":        []byte(secretPassword),
	})
	g.Expect(err).NotTo(HaveOccurred())

	var cfg struct {
		Auths map[string]struct{ Username, Password, Auth string } `json:"auths"`
	}
	g.Expect(json.Unmarshal(r.DockerConfigJSON, &cfg)).To(Succeed())
	g.Expect(cfg.Auths).To(HaveLen(2))
	for _, host := range []string{"registry.example.com:5000", "https://index.docker.io/v1/"} {
		g.Expect(cfg.Auths).To(HaveKey(host))
		g.Expect(cfg.Auths[host].Username).To(Equal(secretUser))
		g.Expect(cfg.Auths[host].Password).To(Equal(secretPassword))
		g.Expect(cfg.Auths[host].Auth).To(Equal(base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + secretPassword))))
	}
}

func TestParseRegistrySecretErrors(t *testing.T) {
	valid := func() map[string][]byte {
		return map[string][]byte{
			"pushRegistryAddress": []byte("registry.example.com"),
			"username":            []byte(secretUser),
			"password":            []byte(secretPassword),
		}
	}
	cases := []struct {
		name   string
		change func(map[string][]byte)
		errs   []string
	}{
		{"empty Secret", func(d map[string][]byte) { clear(d) }, []string{
			"no push address: set key pushRegistryAddress (or registryAddress)",
			"no credentials: set key .dockerconfigjson, or keys username and password",
		}},
		{"blank push address", func(d map[string][]byte) { d["pushRegistryAddress"] = []byte("  ") }, []string{"no push address"}},
		{"password without username", func(d map[string][]byte) { delete(d, "username") }, []string{
			"key password is set but key username is missing or empty",
		}},
		{"username without password", func(d map[string][]byte) { d["password"] = nil }, []string{
			"key username is set but key password is missing or empty",
		}},
		{"malformed .dockerconfigjson", func(d map[string][]byte) {
			d[".dockerconfigjson"] = []byte(`{"auths":{"x":{"password":"` + secretPassword + `"}`)
		}, []string{"key .dockerconfigjson: is not valid JSON"}},
		{".dockerconfigjson with a secret as bad token", func(d map[string][]byte) {
			d[".dockerconfigjson"] = []byte(secretPassword)
		}, []string{"key .dockerconfigjson: is not valid JSON (syntax error at byte"}},
		{".dockerconfigjson of the wrong shape", func(d map[string][]byte) {
			d[".dockerconfigjson"] = []byte(`{"auths":["` + secretPassword + `"]}`)
		}, []string{`key .dockerconfigjson: is not a Docker config`}},
		{".dockerconfigjson without auths", func(d map[string][]byte) {
			d[".dockerconfigjson"] = []byte(`{"credsStore":"` + secretPassword + `"}`)
		}, []string{`key .dockerconfigjson: has no "auths" object`}},
		{"credentials in the address", func(d map[string][]byte) {
			d["pushRegistryAddress"] = []byte("https://" + secretUser + ":" + secretPassword + "@registry.example.com")
		}, []string{"key pushRegistryAddress: must not contain credentials"}},
		{"other URL scheme", func(d map[string][]byte) {
			d["registryAddress"] = []byte("oci://" + secretPassword)
			delete(d, "pushRegistryAddress")
		}, []string{"key registryAddress: must be host[:port][/path]"}},
		{"whitespace in the pull address", func(d map[string][]byte) {
			d["serverAddress"] = []byte("localhost: " + secretPassword)
		}, []string{"key serverAddress: must not contain whitespace"}},
		{"scheme only", func(d map[string][]byte) { d["pushRegistryAddress"] = []byte("https://") }, []string{"key pushRegistryAddress: is empty"}},
		{"isInternal not a boolean", func(d map[string][]byte) { d["isInternal"] = []byte(secretPassword) }, []string{
			"key isInternal: must be true or false",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewWithT(t)
			data := valid()
			c.change(data)
			r, err := ParseRegistrySecret(data)
			g.Expect(err).To(HaveOccurred())
			g.Expect(r).To(Equal(Registry{}))
			g.Expect(err.Error()).To(HavePrefix("invalid registry Secret: "))
			for _, e := range c.errs {
				g.Expect(err.Error()).To(ContainSubstring(e))
			}
			for _, secret := range []string{secretPassword, secretUser, "never-print", "W0rd"} {
				g.Expect(err.Error()).NotTo(ContainSubstring(secret))
			}
		})
	}
}

func TestRegistryStringRedacts(t *testing.T) {
	g := NewWithT(t)
	r := Registry{PushAddress: "p", PullAddress: "q", Username: secretUser, Password: secretPassword, DockerConfigJSON: dockerConfigJSON("p")}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, r)
		g.Expect(out).NotTo(ContainSubstring(secretPassword), format)
		g.Expect(out).NotTo(ContainSubstring(secretUser), format)
		g.Expect(out).To(ContainSubstring("PushAddress:p"), format)
	}
}

func TestImageName(t *testing.T) {
	cases := []struct{ registry, want string }{
		{"localhost:32137", "localhost:32137/team-a-orders:85f0b35914fbff29"},
		{"ghcr.io/team/", "ghcr.io/team/team-a-orders:85f0b35914fbff29"},
		{"", "team-a-orders:85f0b35914fbff29"},
	}
	for _, c := range cases {
		NewWithT(t).Expect(ImageName(c.registry, "team-a", "orders", "85f0b35914fbff29")).To(Equal(c.want))
	}
}

func TestRegistrySecretCopy(t *testing.T) {
	g := NewWithT(t)
	src := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "dockerregistry-config", Namespace: "kyma-system",
			Labels:      map[string]string{"app": "docker-registry"},
			Finalizers:  []string{serverlessv1alpha2.FinalizerRegistryConfig},
			Annotations: map[string]string{"a": "b"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"pushRegistryAddress": []byte("registry.example.com"),
			"username":            []byte(secretUser),
			"password":            []byte(secretPassword),
		},
	}
	cp := RegistrySecretCopy(src, "team-a")
	g.Expect(cp).NotTo(BeNil())
	g.Expect(cp.Name).To(Equal("serverless-registry-config-default"))
	g.Expect(cp.Namespace).To(Equal("team-a"))
	g.Expect(cp.Type).To(Equal(corev1.SecretTypeDockerConfigJson))
	g.Expect(cp.Labels).To(Equal(map[string]string{
		"serverless.kyma-project.io/config":     "credentials",
		"serverless.kyma-project.io/managed-by": "function-controller",
	}))
	g.Expect(cp.Finalizers).To(BeEmpty())
	g.Expect(cp.Annotations).To(BeEmpty())
	g.Expect(cp.OwnerReferences).To(BeEmpty())
	g.Expect(cp.Data).To(HaveKeyWithValue("username", []byte(secretUser)))
	g.Expect(cp.Data).To(HaveKeyWithValue("pushRegistryAddress", []byte("registry.example.com")))
	g.Expect(string(cp.Data[".dockerconfigjson"])).To(ContainSubstring(`"registry.example.com"`))

	// The source is not changed.
	g.Expect(src.Data).NotTo(HaveKey(".dockerconfigjson"))

	// An existing .dockerconfigjson is kept as it is.
	src.Data[".dockerconfigjson"] = dockerConfigJSON("other.example.com")
	g.Expect(RegistrySecretCopy(src, "team-a").Data[".dockerconfigjson"]).To(Equal(dockerConfigJSON("other.example.com")))

	// The copy never replaces its source.
	legacy := src.DeepCopy()
	legacy.Name = RegistrySecretCopyName
	g.Expect(RegistrySecretCopy(legacy, "kyma-system")).To(BeNil())
	g.Expect(RegistrySecretCopy(legacy, "team-a")).NotTo(BeNil())
	g.Expect(RegistrySecretCopy(nil, "team-a")).To(BeNil())
}

func TestFunctionServiceAccount(t *testing.T) {
	g := NewWithT(t)
	sa := FunctionServiceAccount("team-a", RegistrySecretCopyName)
	g.Expect(sa.Name).To(Equal("serverless-function"))
	g.Expect(sa.Namespace).To(Equal("team-a"))
	g.Expect(sa.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "serverless-registry-config-default"}}))
	g.Expect(sa.Labels).To(HaveKeyWithValue("serverless.kyma-project.io/config", "service-account"))
	g.Expect(FunctionServiceAccount("team-a", "").ImagePullSecrets).To(BeEmpty())
}
