package gitsource

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// FetchOptions say what Fetch clones and where the files go.
type FetchOptions struct {
	// URL of the repository.
	URL string
	// Commit to check out: a full commit hash.
	Commit string
	// BaseDir is the folder of the repository to copy, relative to its root ("" or "/" for
	// the root). It must not leave the repository.
	BaseDir string
	// Dest are the directories the folder's content is copied into. They are created when
	// missing; existing files are overwritten.
	Dest []string
	// WorkDir is where the clone is made (a temporary directory in it, removed afterwards);
	// empty means os.TempDir.
	WorkDir string
	// Auth are the credentials, nil for a public repository.
	Auth transport.AuthMethod
}

// Fetch clones the repository, checks out exactly opts.Commit and copies BaseDir's content
// (without .git) into every destination. Regular files keep their permission bits, symbolic
// links are recreated as they are.
func Fetch(ctx context.Context, opts FetchOptions) error {
	if !IsCommit(opts.Commit) {
		return fmt.Errorf("commit %q is not a full commit hash", opts.Commit)
	}
	if len(opts.Dest) == 0 {
		return fmt.Errorf("no destination directory")
	}
	tmp, err := os.MkdirTemp(opts.WorkDir, "clone-")
	if err != nil {
		return fmt.Errorf("create clone directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	repo, err := git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{
		URL:        opts.URL,
		Auth:       opts.Auth,
		NoCheckout: true,
		Tags:       git.AllTags,
	})
	if err != nil {
		return fmt.Errorf("clone %s: %w", opts.URL, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return fmt.Errorf("worktree: %w", err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: plumbing.NewHash(opts.Commit), Force: true}); err != nil {
		return fmt.Errorf("check out commit %s of %s: %w", opts.Commit, opts.URL, err)
	}

	src, err := BaseDirPath(tmp, opts.BaseDir)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("base directory %q in commit %s: %w", opts.BaseDir, opts.Commit, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("base directory %q in commit %s is not a directory", opts.BaseDir, opts.Commit)
	}
	for _, dest := range opts.Dest {
		if err := copyTree(src, dest); err != nil {
			return fmt.Errorf("copy %q to %s: %w", opts.BaseDir, dest, err)
		}
	}
	return nil
}

// BaseDirPath joins a Function's baseDir onto the repository root and refuses a path that
// leaves it.
func BaseDirPath(root, baseDir string) (string, error) {
	rel := filepath.Clean("/" + strings.TrimSpace(baseDir))
	p := filepath.Join(root, rel)
	if r, err := filepath.Rel(root, p); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("base directory %q leaves the repository", baseDir)
	}
	return p, nil
}

func copyTree(src, dest string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		target := filepath.Join(dest, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(p, target, info.Mode().Perm())
		default:
			return nil // sockets, devices: not part of a source tree
		}
	})
}

func copyFile(src, dest string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	_ = os.Remove(dest)
	out, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
