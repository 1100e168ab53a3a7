package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/functionconfig"
	"github.com/kyma-serverless/serverless/internal/gitsource/gittest"
	"github.com/kyma-serverless/serverless/internal/runtime"
	"github.com/kyma-serverless/serverless/internal/workload"
)

// TestInitContainerContract runs the fetcher with the arguments and environment the
// Function's Deployment gives its init container, with the Pod's paths moved to temporary
// directories.
func TestInitContainerContract(t *testing.T) {
	g := NewWithT(t)
	root := t.TempDir()
	repo, err := gittest.InitRepo(filepath.Join(root, "fn.git"), "main")
	g.Expect(err).NotTo(HaveOccurred())
	first, err := repo.Commit(map[string]string{"fn/handler.js": "v1", "fn/package.json": "{}", "fn/lib/util.js": "util", "other.txt": "x"}, "first")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.Commit(map[string]string{"fn/handler.js": "v2"}, "second")
	g.Expect(err).NotTo(HaveOccurred())
	server, err := gittest.NewServer(root, gittest.Options{Username: "bot", Password: "pw"})
	g.Expect(err).NotTo(HaveOccurred())
	defer server.Close()

	cfg := functionconfig.Default()
	for _, rt := range serverlessv1alpha2.Runtimes {
		cfg.RuntimeImages[string(rt)] = "runtime"
	}
	cfg.GitFetcherImage = "fetcher"
	rt, _ := runtime.Lookup("nodejs22")
	fn := &serverlessv1alpha2.Function{
		ObjectMeta: metav1.ObjectMeta{Name: "fn", Namespace: "ns", UID: "uid"},
		Spec: serverlessv1alpha2.FunctionSpec{Runtime: "nodejs22", Source: serverlessv1alpha2.Source{
			GitRepository: &serverlessv1alpha2.GitRepositorySource{
				URL: server.RepoURL("fn.git"), BaseDir: "fn", Reference: "main",
				Auth: &serverlessv1alpha2.RepositoryAuth{Type: serverlessv1alpha2.RepositoryAuthBasic, SecretName: "creds"},
			},
		}},
	}
	dep, err := workload.Deployment(workload.Params{Function: fn, Config: cfg, Runtime: rt, Commit: first})
	g.Expect(err).NotTo(HaveOccurred())
	init := dep.Spec.Template.Spec.InitContainers[0]

	// the Pod's paths, moved below temporary directories
	pod := t.TempDir()
	moved := func(p string) string { return filepath.Join(pod, p) }
	args := make([]string, 0, len(init.Args)+1)
	for _, a := range init.Args {
		if v, ok := strings.CutPrefix(a, "--dest="); ok {
			a = "--dest=" + moved(v)
		}
		args = append(args, a)
	}
	work := moved("/tmp")
	g.Expect(os.MkdirAll(work, 0o755)).To(Succeed())
	args = append(args, "--work-dir="+work)
	secret := map[string]string{"username": "bot", "password": "pw"}
	env := map[string]string{}
	for _, e := range init.Env {
		env[e.Name] = secret[e.ValueFrom.SecretKeyRef.Key]
	}

	g.Expect(run(args, func(k string) string { return env[k] })).To(Succeed())
	for _, dir := range []string{moved(runtime.DefaultSourceDir), moved(workload.GitAppDir)} {
		data, err := os.ReadFile(filepath.Join(dir, rt.HandlerFile))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(data)).To(Equal("v1"), "exactly the resolved commit")
		g.Expect(filepath.Join(dir, rt.DepsFile)).To(BeAnExistingFile())
		g.Expect(filepath.Join(dir, "lib", "util.js")).To(BeAnExistingFile())
		g.Expect(filepath.Join(dir, "other.txt")).NotTo(BeAnExistingFile())
	}

	err = run(args, func(string) string { return "" })
	g.Expect(err).To(MatchError(ContainSubstring("authentication required")))
	g.Expect(run([]string{"--repository=x"}, os.Getenv)).To(MatchError(ContainSubstring("required")))
}
