package gittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the repositories below Root over SSH to one client key, with the
// machine's git upload-pack behind it: clients can list and fetch, not push.
type SSHServer struct {
	// Addr is the host:port the server listens on.
	Addr string
	// Root is the directory holding the repositories.
	Root string
	// KnownHosts is a known_hosts line for the server's host key.
	KnownHosts string

	listener net.Listener
	config   *ssh.ServerConfig
	wg       sync.WaitGroup
}

// NewSSHServer serves the repositories below root on loopback, accepting only clientKey.
// The host key is new for every server.
func NewSSHServer(root string, clientKey ssh.PublicKey) (*SSHServer, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("git is needed to serve repositories: %w", err)
	}
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), clientKey.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, fmt.Errorf("key of %s not authorized", meta.User())
		},
	}
	config.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SSHServer{
		Addr:       l.Addr().String(),
		Root:       root,
		KnownHosts: knownhosts.Line([]string{knownhosts.Normalize(l.Addr().String())}, signer.PublicKey()),
		listener:   l,
		config:     config,
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// RepoURL is the clone URL of the repository named name.
func (s *SSHServer) RepoURL(name string) string { return "ssh://git@" + s.Addr + "/" + name }

// Close stops accepting connections and waits for the open ones to end.
func (s *SSHServer) Close() {
	_ = s.listener.Close()
	s.wg.Wait()
}

func (s *SSHServer) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func (s *SSHServer) handle(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	_, channels, requests, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		return // refused key or broken handshake: the client sees the error
	}
	go ssh.DiscardRequests(requests)
	for nc := range channels {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.session(ch, reqs)
	}
}

// session runs one exec request of git-upload-pack and reports its exit status.
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }()
	for req := range reqs {
		switch req.Type {
		case "env":
			_ = req.Reply(true, nil)
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			fields := strings.Fields(payload.Command)
			if len(fields) != 2 || fields[0] != "git-upload-pack" {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			repo := filepath.Join(s.Root, filepath.Clean("/"+strings.Trim(fields[1], `'"`)))
			status := uploadPack(repo, ch)
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

func uploadPack(repo string, ch ssh.Channel) uint32 {
	cmd := exec.Command("git", "upload-pack", repo)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		return 1
	}
	// not waited for: Wait closes stdin once git exits, which ends the copy
	go func() { _, _ = io.Copy(stdin, ch) }()
	var exit *exec.ExitError
	switch err := cmd.Wait(); {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return uint32(exit.ExitCode()) //nolint:gosec // exit codes are small and non-negative here
	default:
		return 1
	}
}
