package functionbuild

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/build"
	"github.com/kyma-serverless/serverless/internal/gitsource/gittest"
	"github.com/kyma-serverless/serverless/test/framework"
)

var _ = Describe("A Git Function in build mode", Ordered, func() {
	var (
		repo   *gittest.Repo
		server *gittest.Server
	)

	BeforeAll(func() {
		root, err := os.MkdirTemp("", "git-build-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, root)
		repo, err = gittest.InitRepo(filepath.Join(root, "functions.git"), "main")
		Expect(err).NotTo(HaveOccurred())
		server, err = gittest.NewServer(root, gittest.Options{Username: "builder", Password: "g1t-secret"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(server.Close)
	})

	It("builds the resolved commit with credentials from the Secret, and rebuilds once for a new commit", func(ctx SpecContext) {
		first, err := repo.Commit(map[string]string{"app/handler.js": nodeSource, "app/package.json": `{"name":"app","version":"1.0.0"}`}, "first")
		Expect(err).NotTo(HaveOccurred())
		ns := newNamespace(ctx, nil)
		Expect(k8s.Create(ctx, framework.BasicAuthSecret(ns, "git-creds", "builder", "g1t-secret"))).To(Succeed())
		fn := framework.GitFunction(ns, "from-git", server.RepoURL("functions.git"), "/app", "git-creds")
		Expect(k8s.Create(ctx, fn)).To(Succeed())
		// gone before the server stops, so that other specs see no failed polls of it
		DeferCleanup(func(ctx SpecContext) {
			Expect(client.IgnoreNotFound(k8s.Delete(ctx, fn))).To(Succeed())
		})
		got := waitBuiltAndRunning(ctx, fn)
		Expect(got.Status.Commit).To(Equal(first))

		job := &batchv1.Job{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: build.JobName(fn.Name, build.ContentHash(got, runtimeImage, first))}, job)).To(Succeed())
		pod := job.Spec.Template.Spec
		Expect(pod.InitContainers).To(HaveLen(1))
		fetcher := pod.InitContainers[0]
		Expect(fetcher.Name).To(Equal(build.RepoFetcherContainer))
		Expect(fetcher.Image).To(Equal("registry.test/function-git-fetcher:test"))
		Expect(fetcher.Args).To(ContainElements(build.RepoFetcherFlagCommit+"="+first, "--base-dir=/app"))
		Expect(fetcher.Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "git-creds")))
		for _, e := range fetcher.Env {
			Expect(e.Value).NotTo(ContainSubstring("g1t-secret"), "credentials come from the Secret, never inline")
		}
		Expect(missingMounts(ctx, job)).To(BeEmpty())
		cms := &corev1.ConfigMapList{}
		Expect(k8s.List(ctx, cms, client.InNamespace(ns), client.MatchingLabels{serverlessv1alpha2.LabelFunctionName: fn.Name})).To(Succeed())
		Expect(cms.Items).To(BeEmpty(), "a Git source needs no build input ConfigMap")
		dep := &appsv1.Deployment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), dep)).To(Succeed())
		Expect(dep.Spec.Template.Spec.InitContainers).To(BeEmpty(), "the image holds the code")

		second, err := repo.Commit(map[string]string{"app/handler.js": "module.exports = { main: () => 'v2' }\n"}, "second")
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			cur := getFunction(ctx, g, fn)
			g.Expect(cur.Status.Commit).To(Equal(second))
			expectCondition(g, cur, serverlessv1alpha2.ConditionRunning, metav1.ConditionTrue, serverlessv1alpha2.ReasonDeploymentReady)
			d := &appsv1.Deployment{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(fn), d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(builtImage(cur)))
			g.Expect(d.UID).To(Equal(dep.UID), "the same Deployment")
			g.Expect(buildJobs(ctx, g, cur)).To(ConsistOf(build.JobName(fn.Name, build.ContentHash(cur, runtimeImage, second))),
				"one Job for the new commit; the old one is deleted")
		}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(poll).Should(Succeed())
	})
})
