// Package gitsource reads Function sources from Git repositories: Resolve turns a branch, tag
// or commit into a commit by listing the remote's references (no clone), and Fetch clones
// exactly one commit and copies a folder of it into destination directories. Both use go-git
// with credentials built by AuthFromSecret from the keys of a Function's auth Secret.
package gitsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	serverlessv1alpha2 "github.com/kyma-serverless/serverless/api/serverless/v1alpha2"
)

// Keys of a Function's Git auth Secret.
const (
	// UsernameKey and PasswordKey hold the basic credentials (the password may be a token).
	// PasswordKey also holds the passphrase of an encrypted SSH key.
	UsernameKey = "username"
	PasswordKey = "password"
	// KeyKey holds a PEM-encoded SSH private key.
	KeyKey = "key"
	// KnownHostsKey optionally holds known_hosts lines that the SSH server's key must match.
	// Without it the server's key is not checked.
	KnownHostsKey = "knownHosts"
)

// DefaultSSHUser is the SSH user when the Secret names none.
const DefaultSSHUser = "git"

// ErrReferenceNotFound is returned by Resolve when the repository has no such branch or tag
// and the reference is not a full commit hash.
var ErrReferenceNotFound = errors.New("reference not found")

var fullCommit = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// IsCommit reports whether ref is a full, lowercase commit hash (SHA-1 or SHA-256).
func IsCommit(ref string) bool { return fullCommit.MatchString(ref) }

// AuthFromSecret builds go-git credentials from the data of an auth Secret: basic uses
// UsernameKey and PasswordKey, key uses KeyKey with the optional PasswordKey (passphrase),
// UsernameKey (default DefaultSSHUser) and KnownHostsKey. A missing key is an error that names it.
func AuthFromSecret(authType serverlessv1alpha2.RepositoryAuthType, data map[string][]byte) (transport.AuthMethod, error) {
	switch authType {
	case serverlessv1alpha2.RepositoryAuthBasic:
		username, password := string(data[UsernameKey]), string(data[PasswordKey])
		if username == "" || password == "" {
			return nil, fmt.Errorf("basic auth needs the keys %q and %q in the Secret", UsernameKey, PasswordKey)
		}
		return &githttp.BasicAuth{Username: username, Password: password}, nil
	case serverlessv1alpha2.RepositoryAuthSSHKey:
		key := data[KeyKey]
		if len(key) == 0 {
			return nil, fmt.Errorf("key auth needs the key %q in the Secret", KeyKey)
		}
		return SSHAuth(string(data[UsernameKey]), key, string(data[PasswordKey]), data[KnownHostsKey])
	default:
		return nil, fmt.Errorf("unknown auth type %q (want %q or %q)", authType,
			serverlessv1alpha2.RepositoryAuthBasic, serverlessv1alpha2.RepositoryAuthSSHKey)
	}
}

// SSHAuth builds SSH public key credentials. With knownHosts the server's key must match one
// of its lines; without it any server key is accepted.
func SSHAuth(user string, key []byte, passphrase string, knownHosts []byte) (transport.AuthMethod, error) {
	if user == "" {
		user = DefaultSSHUser
	}
	auth, err := gitssh.NewPublicKeys(user, key, passphrase)
	if err != nil {
		return nil, fmt.Errorf("read SSH key: %w", err)
	}
	if len(strings.TrimSpace(string(knownHosts))) == 0 {
		auth.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // documented: no known hosts given
		return auth, nil
	}
	f, err := os.CreateTemp("", "known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(knownHosts); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("known hosts: %w", err)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("read known hosts: %w", err)
	}
	auth.HostKeyCallback = cb
	return auth, nil
}

// IsAuthError reports whether the repository refused or asked for credentials.
func IsAuthError(err error) bool {
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) {
		return true
	}
	// the SSH client reports a refused key only as text
	return err != nil && strings.Contains(err.Error(), sshAuthFailed)
}

// sshAuthFailed starts the error of golang.org/x/crypto/ssh when the server accepted none of
// the client's credentials.
const sshAuthFailed = "ssh: unable to authenticate"

// Resolved is the commit a reference points to.
type Resolved struct {
	// Commit is the full commit hash.
	Commit string
	// Ref is the full reference name it was resolved from (refs/heads/main, refs/tags/v1,
	// HEAD), or the commit itself.
	Ref string
}

// Resolve lists the references of the repository at url and returns the commit that
// reference names. An empty reference is the remote's HEAD. A branch wins over a tag of the
// same name; an annotated tag resolves to its commit. A full commit hash that no reference
// names is returned as it is (it is checked when fetched). Otherwise the error wraps
// ErrReferenceNotFound.
func Resolve(ctx context.Context, url, reference string, auth transport.AuthMethod) (Resolved, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return Resolved{}, fmt.Errorf("list references of %s: %w", url, err)
	}
	byName := make(map[string]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name().String()] = r
	}
	hashOf := func(name string) (string, bool) {
		for range 5 { // follow symbolic references a few levels deep
			r, ok := byName[name]
			if !ok {
				return "", false
			}
			if r.Type() == plumbing.HashReference {
				return r.Hash().String(), true
			}
			name = r.Target().String()
		}
		return "", false
	}

	var candidates []string
	switch {
	case reference == "" || reference == "HEAD":
		candidates = []string{"HEAD"}
	case strings.HasPrefix(reference, "refs/"):
		candidates = []string{reference + "^{}", reference}
	default:
		candidates = []string{
			"refs/heads/" + reference,
			"refs/tags/" + reference + "^{}", // the commit of an annotated tag
			"refs/tags/" + reference,
		}
	}
	for _, name := range candidates {
		if h, ok := hashOf(name); ok {
			return Resolved{Commit: h, Ref: strings.TrimSuffix(name, "^{}")}, nil
		}
	}
	if IsCommit(reference) {
		return Resolved{Commit: reference, Ref: reference}, nil
	}
	if reference == "" {
		return Resolved{}, fmt.Errorf("%s has no HEAD: %w", url, ErrReferenceNotFound)
	}
	return Resolved{}, fmt.Errorf("%s has no branch or tag %q and it is not a full commit hash: %w", url, reference, ErrReferenceNotFound)
}
