package gitsource_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/ssh"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
	"github.com/kyma-serverless/serverless/internal/gitsource"
	"github.com/kyma-serverless/serverless/internal/gitsource/gittest"
)

type fixture struct {
	server *gittest.Server
	repo   *gittest.Repo
	url    string
	first  string // commit on main, tagged v1 (annotated) and light
	second string // commit on main after first; HEAD of main
	branch string // commit only on branch "feature"
}

func newFixture(t *testing.T, opts gittest.Options) *fixture {
	t.Helper()
	g := NewWithT(t)
	root := t.TempDir()
	repo, err := gittest.InitRepo(filepath.Join(root, "fn.git"), "main")
	g.Expect(err).NotTo(HaveOccurred())
	f := &fixture{repo: repo}
	f.first, err = repo.Commit(map[string]string{"src/handler.js": "module.exports = {main: () => 1}", "src/package.json": "{}", "README.md": "x"}, "first")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.Git("tag", "-a", "v1", "-m", "version 1")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.Git("tag", "light")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.Git("checkout", "--quiet", "-b", "feature")
	g.Expect(err).NotTo(HaveOccurred())
	f.branch, err = repo.Commit(map[string]string{"src/handler.js": "module.exports = {main: () => 'feature'}"}, "feature")
	g.Expect(err).NotTo(HaveOccurred())
	_, err = repo.Git("checkout", "--quiet", "main")
	g.Expect(err).NotTo(HaveOccurred())
	f.second, err = repo.Commit(map[string]string{"src/handler.js": "module.exports = {main: () => 2}", "src/lib/util.js": "x"}, "second")
	g.Expect(err).NotTo(HaveOccurred())

	f.server, err = gittest.NewServer(root, opts)
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(f.server.Close)
	f.url = f.server.RepoURL("fn.git")
	return f
}

func TestResolve(t *testing.T) {
	f := newFixture(t, gittest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, tc := range []struct {
		ref, commit, name string
	}{
		{"", f.second, "HEAD"},
		{"main", f.second, "refs/heads/main"},
		{"feature", f.branch, "refs/heads/feature"},
		{"v1", f.first, "refs/tags/v1"},
		{"light", f.first, "refs/tags/light"},
		{"refs/heads/feature", f.branch, "refs/heads/feature"},
		{f.first, f.first, f.first},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			g := NewWithT(t)
			got, err := gitsource.Resolve(ctx, f.url, tc.ref, nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(gitsource.Resolved{Commit: tc.commit, Ref: tc.name}))
		})
	}

	g := NewWithT(t)
	_, err := gitsource.Resolve(ctx, f.url, "nope", nil)
	g.Expect(err).To(MatchError(gitsource.ErrReferenceNotFound))
	g.Expect(err.Error()).To(ContainSubstring(`no branch or tag "nope"`))

	// a new commit is seen by the next Resolve
	third, err := f.repo.Commit(map[string]string{"src/handler.js": "3"}, "third")
	g.Expect(err).NotTo(HaveOccurred())
	got, err := gitsource.Resolve(ctx, f.url, "main", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Commit).To(Equal(third))
}

func TestResolveWithBasicAuth(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, gittest.Options{Username: "user", Password: "token"})
	ctx := context.Background()

	_, err := gitsource.Resolve(ctx, f.url, "main", nil)
	g.Expect(gitsource.IsAuthError(err)).To(BeTrue(), "%v", err)

	_, err = gitsource.Resolve(ctx, f.url, "main", &githttp.BasicAuth{Username: "user", Password: "wrong"})
	g.Expect(gitsource.IsAuthError(err)).To(BeTrue(), "%v", err)

	auth, err := gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthBasic, map[string][]byte{"username": []byte("user"), "password": []byte("token")})
	g.Expect(err).NotTo(HaveOccurred())
	got, err := gitsource.Resolve(ctx, f.url, "main", auth)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Commit).To(Equal(f.second))
}

func TestAuthFromSecret(t *testing.T) {
	g := NewWithT(t)
	_, err := gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthBasic, map[string][]byte{"username": []byte("u")})
	g.Expect(err).To(MatchError(ContainSubstring(`"password"`)))
	_, err = gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthSSHKey, nil)
	g.Expect(err).To(MatchError(ContainSubstring(`"key"`)))
	_, err = gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthSSHKey, map[string][]byte{"key": []byte("not a key")})
	g.Expect(err).To(MatchError(ContainSubstring("read SSH key")))
	_, err = gitsource.AuthFromSecret("token", nil)
	g.Expect(err).To(MatchError(ContainSubstring("unknown auth type")))

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	g.Expect(err).NotTo(HaveOccurred())
	block, err := ssh.MarshalPrivateKey(priv, "")
	g.Expect(err).NotTo(HaveOccurred())
	signer, err := ssh.NewSignerFromKey(priv)
	g.Expect(err).NotTo(HaveOccurred())
	knownHosts := "git.example.com " + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	auth, err := gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthSSHKey, map[string][]byte{
		"key": pem.EncodeToMemory(block), "knownHosts": []byte(knownHosts),
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(auth.Name()).To(Equal("ssh-public-keys"))
}

func TestFetch(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, gittest.Options{Username: "user", Password: "token"})
	auth := &githttp.BasicAuth{Username: "user", Password: "token"}
	ctx := context.Background()
	work := t.TempDir()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")

	g.Expect(gitsource.Fetch(ctx, gitsource.FetchOptions{
		URL: f.url, Commit: f.first, BaseDir: "/src", Dest: []string{a, b}, WorkDir: work, Auth: auth,
	})).To(Succeed())
	for _, d := range []string{a, b} {
		data, err := os.ReadFile(filepath.Join(d, "handler.js"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(string(data)).To(Equal("module.exports = {main: () => 1}"))
		g.Expect(filepath.Join(d, "package.json")).To(BeAnExistingFile())
		g.Expect(filepath.Join(d, "lib")).NotTo(BeAnExistingFile()) // only in the later commit
		g.Expect(filepath.Join(d, "README.md")).NotTo(BeAnExistingFile())
	}
	entries, err := os.ReadDir(work)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(entries).To(BeEmpty(), "the clone is removed")

	// a commit that is only on another branch, and the repository root
	c := filepath.Join(t.TempDir(), "c")
	g.Expect(gitsource.Fetch(ctx, gitsource.FetchOptions{URL: f.url, Commit: f.branch, Dest: []string{c}, Auth: auth})).To(Succeed())
	data, err := os.ReadFile(filepath.Join(c, "src", "handler.js"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(ContainSubstring("feature"))
	g.Expect(filepath.Join(c, "README.md")).To(BeAnExistingFile())
	g.Expect(filepath.Join(c, ".git")).NotTo(BeAnExistingFile())

	err = gitsource.Fetch(ctx, gitsource.FetchOptions{URL: f.url, Commit: f.first, BaseDir: "/missing", Dest: []string{c}, Auth: auth})
	g.Expect(err).To(MatchError(ContainSubstring(`base directory "/missing"`)))
	err = gitsource.Fetch(ctx, gitsource.FetchOptions{URL: f.url, Commit: "main", Dest: []string{c}, Auth: auth})
	g.Expect(err).To(MatchError(ContainSubstring("not a full commit hash")))
	err = gitsource.Fetch(ctx, gitsource.FetchOptions{URL: f.url, Commit: f.first, Dest: []string{c}})
	g.Expect(gitsource.IsAuthError(errors.Unwrap(err))).To(BeTrue(), "%v", err)
}

func TestBaseDirPath(t *testing.T) {
	g := NewWithT(t)
	for in, want := range map[string]string{"": "/r", "/": "/r", "src": "/r/src", "/a/b/": "/r/a/b", "../x": "/r/x", "a/../../b": "/r/b"} {
		got, err := gitsource.BaseDirPath("/r", in)
		g.Expect(err).NotTo(HaveOccurred(), in)
		g.Expect(got).To(Equal(want), in)
	}
}

// sshKey is a new client key: its signer, and the PEM a key Secret holds.
func sshKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

func TestSSH(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t, gittest.Options{})
	client, keyPEM := sshKey(t)
	server, err := gittest.NewSSHServer(f.server.Root, client.PublicKey())
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(server.Close)
	url := server.RepoURL("fn.git")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	auth, err := gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthSSHKey, map[string][]byte{
		"key": keyPEM, "knownHosts": []byte(server.KnownHosts),
	})
	g.Expect(err).NotTo(HaveOccurred())
	got, err := gitsource.Resolve(ctx, url, "main", auth)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Commit).To(Equal(f.second))

	dest := filepath.Join(t.TempDir(), "src")
	g.Expect(gitsource.Fetch(ctx, gitsource.FetchOptions{URL: url, Commit: f.first, BaseDir: "/src", Dest: []string{dest}, Auth: auth})).To(Succeed())
	data, err := os.ReadFile(filepath.Join(dest, "handler.js"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(data)).To(Equal("module.exports = {main: () => 1}"))

	// a key the server does not know
	_, otherPEM := sshKey(t)
	other, err := gitsource.AuthFromSecret(serverlessv1alpha2.RepositoryAuthSSHKey, map[string][]byte{
		"key": otherPEM, "knownHosts": []byte(server.KnownHosts),
	})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = gitsource.Resolve(ctx, url, "main", other)
	g.Expect(gitsource.IsAuthError(err)).To(BeTrue(), "%v", err)

	// a server whose host key differs from the known one
	impostor, err := gittest.NewSSHServer(f.server.Root, client.PublicKey())
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(impostor.Close)
	_, err = gitsource.Resolve(ctx, impostor.RepoURL("fn.git"), "main", auth)
	g.Expect(err).To(MatchError(ContainSubstring("knownhosts")))
}
