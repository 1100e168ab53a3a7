package framework

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// GitFunction is a Node.js Function built from folder baseDir of the branch main of the
// repository at url, with basic credentials from the Secret secretName.
func GitFunction(namespace, name, url, baseDir, secretName string) *serverlessv1alpha2.Function {
	return &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: serverlessv1alpha2.RuntimeNodejs22,
			Source: serverlessv1alpha2.Source{GitRepository: &serverlessv1alpha2.GitRepositorySource{
				URL: url, BaseDir: baseDir, Reference: "main",
				Auth: &serverlessv1alpha2.RepositoryAuth{Type: serverlessv1alpha2.RepositoryAuthBasic, SecretName: secretName},
			}},
		},
	}
}

// BasicAuthSecret holds Git basic credentials under the keys a Function's auth Secret uses.
func BasicAuthSecret(namespace, name, username, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		StringData: map[string]string{"username": username, "password": password},
	}
}

// ControllerImages is the part of a Function controller configuration the suites share: the
// registry.test images (kwok runs none of them) and the default resource preset.
const ControllerImages = `gitFetcherImage: registry.test/function-git-fetcher:test
runtimeImages:
  nodejs20: registry.test/function-runtime-nodejs20:test
  nodejs22: registry.test/function-runtime-nodejs22:test
  nodejs24: registry.test/function-runtime-nodejs24:test
  python312: registry.test/function-runtime-python312:test
runtimePresets:
  default: S
`
