package build

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

const testDockerfile = "ARG base_image\nFROM ${base_image}\n"

// dockerfileSource is the chart's Dockerfile ConfigMap of nodejs22 in kyma-system.
func dockerfileSource() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: "dockerfile-nodejs22", Namespace: "kyma-system", ResourceVersion: "42", UID: "c0ffee",
			Labels: map[string]string{
				"serverless.kyma-project.io/config":  "runtime",
				"serverless.kyma-project.io/runtime": "nodejs22",
				"app.kubernetes.io/instance":         "serverless",
			},
			Annotations:     map[string]string{"meta.helm.sh/release-name": "serverless"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Serverless", Name: "default"}},
		},
		Data: map[string]string{functionconfig.DockerfileKey: testDockerfile, "other": "not copied"},
	}
}

func dockerfileCopy(t *testing.T, namespace string) *corev1.ConfigMap {
	t.Helper()
	cm, err := DockerfileCopy(dockerfileSource(), "nodejs22", namespace)
	if err != nil || cm == nil {
		t.Fatalf("DockerfileCopy: %v, %v", cm, err)
	}
	return cm
}

func TestDockerfileCopy(t *testing.T) {
	t.Run("copies the Dockerfile under the source's name with the copy labels", func(t *testing.T) {
		g := NewWithT(t)
		cm := dockerfileCopy(t, "team-a")
		g.Expect(cm.TypeMeta).To(Equal(metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}))
		g.Expect(cm.Name).To(Equal("dockerfile-nodejs22"))
		g.Expect(cm.Namespace).To(Equal("team-a"))
		g.Expect(cm.Labels).To(Equal(map[string]string{
			"serverless.kyma-project.io/config":     "runtime",
			"serverless.kyma-project.io/runtime":    "nodejs22",
			"serverless.kyma-project.io/managed-by": "function-controller",
		}))
		g.Expect(cm.Data).To(Equal(map[string]string{"Dockerfile": testDockerfile}))
		g.Expect(cm.BinaryData).To(BeNil())
		g.Expect(cm.Annotations).To(BeEmpty())
		g.Expect(cm.OwnerReferences).To(BeEmpty())
		g.Expect(cm.ResourceVersion).To(BeEmpty())
		g.Expect(cm.UID).To(BeEmpty())
		g.Expect(IsDockerfileCopy(cm)).To(BeTrue())
	})

	t.Run("follows a change of the source", func(t *testing.T) {
		g := NewWithT(t)
		src := dockerfileSource()
		src.Data[functionconfig.DockerfileKey] = "FROM scratch\n"
		cm, err := DockerfileCopy(src, "nodejs22", "team-a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm.Data).To(Equal(map[string]string{"Dockerfile": "FROM scratch\n"}))
	})

	t.Run("does not share the source's maps", func(t *testing.T) {
		g := NewWithT(t)
		src := dockerfileSource()
		cm, err := DockerfileCopy(src, "nodejs22", "team-a")
		g.Expect(err).NotTo(HaveOccurred())
		cm.Data["Dockerfile"] = "changed"
		cm.Labels["x"] = "y"
		g.Expect(src.Data["Dockerfile"]).To(Equal(testDockerfile))
		g.Expect(src.Labels).NotTo(HaveKey("x"))
	})

	t.Run("no copy in the source's own namespace", func(t *testing.T) {
		g := NewWithT(t)
		cm, err := DockerfileCopy(dockerfileSource(), "nodejs22", "kyma-system")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm).To(BeNil())
	})

	t.Run("no copy without a source", func(t *testing.T) {
		g := NewWithT(t)
		cm, err := DockerfileCopy(nil, "nodejs22", "team-a")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cm).To(BeNil())
	})

	t.Run("a source without a Dockerfile is an error naming it", func(t *testing.T) {
		g := NewWithT(t)
		for _, data := range []map[string]string{nil, {"other": "x"}, {"Dockerfile": ""}} {
			src := dockerfileSource()
			src.Data = data
			cm, err := DockerfileCopy(src, "nodejs22", "team-a")
			g.Expect(cm).To(BeNil())
			g.Expect(err).To(MatchError(ContainSubstring("kyma-system/dockerfile-nodejs22")))
			g.Expect(err).To(MatchError(ContainSubstring("Dockerfile")))
		}
	})
}

func TestIsDockerfileCopy(t *testing.T) {
	g := NewWithT(t)
	g.Expect(IsDockerfileCopy(dockerfileSource())).To(BeTrue(), "the original has the labels too: callers skip its namespace")
	g.Expect(IsDockerfileCopy(SourceConfigMap(inlineFunction("orders")))).To(BeFalse())
	g.Expect(IsDockerfileCopy(&corev1.ConfigMap{})).To(BeFalse())
}
