package gittest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the repositories under Root over SSH on 127.0.0.1: it
// accepts the public keys it was given and runs git-upload-pack or
// git-receive-pack for the repository a client asks for.
type SSHServer struct {
	Addr    string        // host:port
	HostKey ssh.PublicKey // the server's host key, for known_hosts
	Root    string

	listener net.Listener
	wg       sync.WaitGroup
}

// NewKey makes an ed25519 key pair: the private key as OpenSSH PEM (what
// a user puts in a Secret) and its signer.
func NewKey(t testing.TB) ([]byte, ssh.Signer) {
	t.Helper()
	return NewLockedKey(t, "")
}

// NewLockedKey is NewKey with the private key encrypted with passphrase
// ("" for none).
func NewLockedKey(t testing.TB, passphrase string) ([]byte, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), signer
}

// NewSSHServer starts an SSH git server for the repositories under root
// that accepts the authorized keys, stopped when the test ends.
func NewSSHServer(t testing.TB, root string, authorized ...ssh.PublicKey) *SSHServer {
	t.Helper()
	GitPath(t)
	_, hostSigner := NewKey(t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range authorized {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("public key not authorized")
		},
	}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{Addr: l.Addr().String(), HostKey: hostSigner.PublicKey(), Root: root, listener: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.wg.Wait()
	})
	return s
}

// RepoURL is the clone URL of the repository named name.
func (s *SSHServer) RepoURL(name string) string {
	return "ssh://git@" + s.Addr + "/" + name
}

// KnownHosts is the known_hosts line that trusts this server.
func (s *SSHServer) KnownHosts() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
}

func (s *SSHServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(ch, chReqs)
		}()
	}
}

func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" {
				env = append(env, "GIT_PROTOCOL="+kv.Value)
			}
			req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				return
			}
			cmd, err := s.command(p.Command)
			if err != nil {
				req.Reply(false, nil)
				fmt.Fprintln(ch.Stderr(), err)
				exitStatus(ch, 128)
				return
			}
			req.Reply(true, nil)
			cmd.Env = append(Env("ssh", "ssh@example.com"), env...)
			cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
			// Not cmd.Stdin = ch: Wait would then wait for the client
			// to close its side even after the process has exited.
			stdin, err := cmd.StdinPipe()
			if err != nil {
				exitStatus(ch, 128)
				return
			}
			go func() {
				io.Copy(stdin, ch)
				stdin.Close()
			}()
			code := 0
			if err := cmd.Run(); err != nil {
				code = 1
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				}
			}
			exitStatus(ch, code)
			return
		default:
			req.Reply(false, nil)
		}
	}
}

// command maps "git-upload-pack '/repo'" to a process serving the
// repository under Root, refusing anything else.
func (s *SSHServer) command(line string) (*exec.Cmd, error) {
	verb, arg, ok := strings.Cut(line, " ")
	if !ok || (verb != "git-upload-pack" && verb != "git-receive-pack") {
		return nil, fmt.Errorf("command %q not allowed", line)
	}
	repo := path.Clean("/" + strings.Trim(arg, `'"`))
	if repo == "/" || strings.Contains(repo, "..") {
		return nil, fmt.Errorf("repository %q not allowed", arg)
	}
	dir := filepath.Join(s.Root, filepath.FromSlash(repo))
	return exec.Command("git", strings.TrimPrefix(verb, "git-"), dir), nil
}

func exitStatus(ch ssh.Channel, code int) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}
