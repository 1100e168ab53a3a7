package build

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
)

const (
	testNamespace    = "team-a"
	testUID          = types.UID("0b7c3c46-6a4b-4b8e-9a59-1d0c2e0f5a11")
	testRuntimeImage = "europe-docker.pkg.dev/kyma-project/prod/function-runtime-nodejs22:1.2.3"
	testCommit       = "8f3b2c1d9e0a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
)

// inlineFunction is a Node.js 22 Function with inline source; opts change it.
func inlineFunction(name string, opts ...func(*serverlessv1alpha2.Function)) *serverlessv1alpha2.Function {
	fn := &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, UID: testUID},
		Spec: serverlessv1alpha2.FunctionSpec{
			Runtime: serverlessv1alpha2.RuntimeNodejs22,
			Source: serverlessv1alpha2.Source{Inline: &serverlessv1alpha2.InlineSource{
				Source:       "module.exports = { main: function () { return 'hello' } }",
				Dependencies: `{"name":"fn","dependencies":{"lodash":"4.17.21"}}`,
			}},
		},
	}
	for _, o := range opts {
		o(fn)
	}
	return fn
}

// gitFunction is a Node.js 22 Function with a Git source; opts change it.
func gitFunction(name string, opts ...func(*serverlessv1alpha2.Function)) *serverlessv1alpha2.Function {
	fn := inlineFunction(name)
	fn.Spec.Source = serverlessv1alpha2.Source{GitRepository: &serverlessv1alpha2.GitRepositorySource{
		URL:       "https://git.example.com/team/functions.git",
		BaseDir:   "/hello",
		Reference: "main",
	}}
	for _, o := range opts {
		o(fn)
	}
	return fn
}

// testConfig is a build mode configuration.
func testConfig() *functionconfig.Config {
	cfg := functionconfig.Default()
	cfg.Mode = functionconfig.ModeBuild
	cfg.GitFetcherImage = "registry.test/function-git-fetcher:1.0.0"
	cfg.Build.ExecutorImage = "registry.test/kaniko-executor:v1.23.2"
	cfg.Build.ExecutorArgs = []string{"--insecure", "--cache=true"}
	cfg.Build.RegistrySecretName = "serverless-registry-config"
	return cfg
}
