package workload

import (
	"testing"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

const testBuiltImage = "localhost:32137/team-hello:85f0b35914fbff29"

func TestDeploymentBuilt(t *testing.T) {
	for _, rt := range []serverlessv1alpha2.Runtime{serverlessv1alpha2.RuntimeNodejs22, serverlessv1alpha2.RuntimePython312} {
		t.Run(string(rt), func(t *testing.T) {
			g := NewWithT(t)
			fn := newFunction(rt, withGit(nil), func(f *serverlessv1alpha2.Function) {
				f.Spec.SecretMounts = []serverlessv1alpha2.SecretMount{{SecretName: "creds", MountPath: "/secrets/creds"}}
			})
			p := params(fn, commit)
			p.BuiltImage, p.PullSecret = testBuiltImage, "serverless-registry-config-default"
			dep, err := Deployment(p)
			g.Expect(err).NotTo(HaveOccurred())
			buildless, err := Deployment(params(fn, commit))
			g.Expect(err).NotTo(HaveOccurred())

			g.Expect(dep.Name).To(Equal(buildless.Name))
			g.Expect(dep.Spec.Selector).To(Equal(buildless.Spec.Selector))
			g.Expect(dep.Spec.Strategy).To(Equal(buildless.Spec.Strategy))
			g.Expect(dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
			g.Expect(dep.Spec.Strategy.RollingUpdate.MaxSurge.IntValue()).To(Equal(1))
			g.Expect(Hash(dep)).NotTo(Equal(Hash(buildless)))

			spec := dep.Spec.Template.Spec
			g.Expect(spec.ImagePullSecrets).To(Equal([]corev1.LocalObjectReference{{Name: "serverless-registry-config-default"}}))
			g.Expect(spec.InitContainers).To(BeEmpty(), "the code is in the image")
			c := spec.Containers[0]
			g.Expect(c.Image).To(Equal(testBuiltImage))
			g.Expect(c.Command).To(BeNil(), "the image's entrypoint starts the runtime")
			g.Expect(c.Env).To(Equal(buildless.Spec.Template.Spec.Containers[0].Env))
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m.Name
			}
			g.Expect(mounts).To(HaveLen(2))
			g.Expect(mounts).To(HaveKey("/tmp"))
			g.Expect(mounts).To(HaveKey("/secrets/creds"))
			g.Expect(spec.Volumes).To(HaveLen(2))
			expectRestricted(g, dep)
		})
	}
}

func TestDeploymentKeepsAnExistingName(t *testing.T) {
	g := NewWithT(t)
	fn := newFunction(serverlessv1alpha2.RuntimeNodejs22)
	p := params(fn, "")
	p.DeploymentName = "hello-x7k2p"
	dep, err := Deployment(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dep.Name).To(Equal("hello-x7k2p"))
	g.Expect(dep.Spec.Selector.MatchLabels).To(Equal(SelectorLabels(fn)))
	g.Expect(dep.Spec.Template.Spec.ServiceAccountName).To(BeEmpty())

	hpa, err := HPA(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hpa).To(BeNil(), "no scaleConfig, no autoscaler")
}

func TestScaleConfig(t *testing.T) {
	g := NewWithT(t)
	min, max := int32(2), int32(5)
	fn := newFunction(serverlessv1alpha2.RuntimeNodejs22, func(f *serverlessv1alpha2.Function) {
		f.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{MinReplicas: &min, MaxReplicas: &max}
	})
	p := params(fn, "")
	p.DeploymentName = "hello-x7k2p"
	dep, err := Deployment(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(dep.Spec.Replicas).To(BeNil(), "the autoscaler owns the replicas")

	hpa, err := HPA(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(hpa.Name).To(Equal("hello"))
	g.Expect(hpa.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello-x7k2p"}))
	g.Expect(*hpa.Spec.MinReplicas).To(Equal(min))
	g.Expect(hpa.Spec.MaxReplicas).To(Equal(max))
	g.Expect(hpa.OwnerReferences).To(ConsistOf(OwnerReference(fn)))
	g.Expect(Hash(hpa)).NotTo(BeEmpty())

	// the autoscaler is the same in both modes
	p.BuiltImage = testBuiltImage
	built, err := HPA(p)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Hash(built)).To(Equal(Hash(hpa)))
}
