package build

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// legacyLabels are the labels Kyma's legacy controller put on a Function's objects.
func legacyLabels(fn string, extra ...string) map[string]string {
	l := map[string]string{
		"serverless.kyma-project.io/function-name": fn,
		"serverless.kyma-project.io/managed-by":    "function-controller",
		"serverless.kyma-project.io/uuid":          "5a0c0d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func meta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "team-a", Labels: labels}
}

func TestIsBuildLeftover(t *testing.T) {
	fn := inlineFunction("orders")
	cases := []struct {
		name string
		obj  metav1.Object
		kind string
		want bool
	}{
		// Jobs
		{"our build Job", Job(fn, testJobInput()), KindJob, true},
		{"legacy build Job", &batchv1.Job{ObjectMeta: meta("orders-build-x7k2p", legacyLabels("orders"))}, KindJob, true},
		{"legacy build Job of a long name cut by generateName", &batchv1.Job{ObjectMeta: meta(
			"a-function-with-a-very-long-name-that-kubernetes-cuts-bu-x7k2p",
			legacyLabels("a-function-with-a-very-long-name-that-kubernetes-cuts-build"))}, KindJob, true},
		{"Job of a Function with another resource", &batchv1.Job{ObjectMeta: meta("orders-migrate",
			legacyLabels("orders", serverlessv1alpha2.LabelResource, "migration"))}, KindJob, false},
		{"Job without the Function labels", &batchv1.Job{ObjectMeta: meta("orders-build-x7k2p", map[string]string{"app": "orders"})}, KindJob, false},
		{"Job managed by someone else", &batchv1.Job{ObjectMeta: meta("orders-build-x7k2p",
			legacyLabels("orders", serverlessv1alpha2.LabelManagedBy, "helm"))}, KindJob, false},

		// ConfigMaps
		{"our build input ConfigMap", SourceConfigMap(fn), KindConfigMap, true},
		{"legacy build input ConfigMap", &corev1.ConfigMap{ObjectMeta: meta("orders-8qzmw", legacyLabels("orders"))}, KindConfigMap, true},
		{"buildless source ConfigMap", &corev1.ConfigMap{ObjectMeta: meta("orders-source",
			legacyLabels("orders", serverlessv1alpha2.LabelResource, "source"))}, KindConfigMap, false},
		{"ConfigMap missing the uuid label", &corev1.ConfigMap{ObjectMeta: meta("orders-8qzmw", map[string]string{
			"serverless.kyma-project.io/function-name": "orders",
			"serverless.kyma-project.io/managed-by":    "function-controller",
		})}, KindConfigMap, false},
		{"our Dockerfile copy", dockerfileCopy(t, "team-a"), KindConfigMap, true},
		{"legacy Dockerfile copy", &corev1.ConfigMap{ObjectMeta: meta("dockerfile-nodejs22", map[string]string{
			"serverless.kyma-project.io/config":  "runtime",
			"serverless.kyma-project.io/runtime": "nodejs22",
		})}, KindConfigMap, true},
		{"ConfigMap labelled runtime without a runtime", &corev1.ConfigMap{ObjectMeta: meta("dockerfile-nodejs22", map[string]string{
			"serverless.kyma-project.io/config": "runtime",
		})}, KindConfigMap, false},
		{"ConfigMap of another config kind", &corev1.ConfigMap{ObjectMeta: meta("dockerfile-nodejs22", map[string]string{
			"serverless.kyma-project.io/config":  "credentials",
			"serverless.kyma-project.io/runtime": "nodejs22",
		})}, KindConfigMap, false},
		{"Dockerfile copy checked as a Secret", dockerfileCopy(t, "team-a"), KindSecret, false},
		{"user ConfigMap", &corev1.ConfigMap{ObjectMeta: meta("orders-settings", map[string]string{"app": "orders"})}, KindConfigMap, false},

		// Secrets
		{"our registry Secret copy", RegistrySecretCopy(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reg", Namespace: "kyma-system"}}, "team-a"), KindSecret, true},
		{"legacy registry Secret copy with its finalizer", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name: "serverless-registry-config-default", Namespace: "team-a",
			Labels:     map[string]string{"serverless.kyma-project.io/config": "credentials"},
			Finalizers: []string{serverlessv1alpha2.FinalizerRegistryConfig},
		}}, KindSecret, true},
		{"user Secret with the name but not the label", &corev1.Secret{ObjectMeta: meta("serverless-registry-config-default", nil)}, KindSecret, false},
		{"credentials of another name", &corev1.Secret{ObjectMeta: meta("dockerregistry-config",
			map[string]string{"serverless.kyma-project.io/config": "credentials"})}, KindSecret, false},
		{"package registry config", &corev1.Secret{ObjectMeta: meta("serverless-package-registry-config", nil)}, KindSecret, false},

		// ServiceAccounts
		{"our ServiceAccount", FunctionServiceAccount("team-a", RegistrySecretCopyName), KindServiceAccount, true},
		{"legacy ServiceAccount", &corev1.ServiceAccount{ObjectMeta: meta("serverless-function",
			map[string]string{"serverless.kyma-project.io/config": "service-account"})}, KindServiceAccount, true},
		{"user ServiceAccount of that name", &corev1.ServiceAccount{ObjectMeta: meta("serverless-function", nil)}, KindServiceAccount, false},
		{"other ServiceAccount with the label", &corev1.ServiceAccount{ObjectMeta: meta("default",
			map[string]string{"serverless.kyma-project.io/config": "service-account"})}, KindServiceAccount, false},

		// Never leftovers
		{"legacy Deployment", &appsv1.Deployment{ObjectMeta: meta("orders-5f7d9",
			legacyLabels("orders", serverlessv1alpha2.LabelResource, "deployment"))}, "Deployment", false},
		{"HPA", HPA(inlineFunction("orders", func(f *serverlessv1alpha2.Function) {
			f.Spec.ScaleConfig = &serverlessv1alpha2.ScaleConfig{}
		}), "orders", 50), "HorizontalPodAutoscaler", false},
		{"Job checked as another kind", Job(fn, testJobInput()), "job", false},
		{"nil", nil, KindJob, false},
		{"typed nil", (*serverlessv1alpha2.Function)(nil), KindJob, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			NewWithT(t).Expect(IsBuildLeftover(c.obj, c.kind)).To(Equal(c.want))
		})
	}
}
