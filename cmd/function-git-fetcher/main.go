// Command function-git-fetcher is the init container of Git Functions: it clones one commit
// of a repository and copies a folder of it into the directories the Function's container
// reads. Credentials come from the environment (GIT_USERNAME, GIT_PASSWORD) or from a mounted
// SSH key (--ssh-key-file, passphrase in GIT_SSH_KEY_PASSWORD, optional --known-hosts-file).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kyma-serverless/serverless/internal/gitsource"
)

type destinations []string

func (d *destinations) String() string     { return strings.Join(*d, ",") }
func (d *destinations) Set(v string) error { *d = append(*d, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "function-git-fetcher:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	var opts gitsource.FetchOptions
	var dest destinations
	var keyFile, knownHostsFile string
	flags := flag.NewFlagSet("function-git-fetcher", flag.ContinueOnError)
	timeout := flags.Duration("timeout", 10*time.Minute, "How long the fetch may take.")
	flags.StringVar(&opts.URL, "repository", "", "URL of the repository.")
	flags.StringVar(&opts.Commit, "commit", "", "Full hash of the commit to fetch.")
	flags.StringVar(&opts.BaseDir, "base-dir", "", "Folder of the repository to copy; empty for the root.")
	flags.Var(&dest, "dest", "Directory to copy the folder's content into; repeatable.")
	flags.StringVar(&opts.WorkDir, "work-dir", os.TempDir(), "Writable directory for the clone.")
	flags.StringVar(&keyFile, "ssh-key-file", "", "SSH private key file, for SSH URLs.")
	flags.StringVar(&knownHostsFile, "known-hosts-file", "", "known_hosts file the server's key must match; when missing the key is not checked.")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if opts.URL == "" || opts.Commit == "" || len(dest) == 0 {
		return errors.New("--repository, --commit and --dest are required")
	}
	opts.Dest = dest

	auth, err := auth(keyFile, knownHostsFile, getenv)
	if err != nil {
		return err
	}
	opts.Auth = auth

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := gitsource.Fetch(ctx, opts); err != nil {
		return err
	}
	fmt.Printf("fetched commit %s of %s (base directory %q)\n", opts.Commit, opts.URL, opts.BaseDir)
	return nil
}

func auth(keyFile, knownHostsFile string, getenv func(string) string) (transport.AuthMethod, error) {
	if keyFile != "" {
		key, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("read SSH key: %w", err)
		}
		var knownHosts []byte
		if knownHostsFile != "" {
			knownHosts, err = os.ReadFile(knownHostsFile)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("read known hosts: %w", err)
			}
		}
		return gitsource.SSHAuth(getenv("GIT_SSH_USERNAME"), key, getenv("GIT_SSH_KEY_PASSWORD"), knownHosts)
	}
	if user, pass := getenv("GIT_USERNAME"), getenv("GIT_PASSWORD"); user != "" || pass != "" {
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	}
	return nil, nil
}
