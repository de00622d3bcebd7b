package git

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Sentinel errors a caller can branch on with errors.Is.
var (
	// ErrAuth: the server refused the credentials (HTTP 401/403, SSH key
	// rejected) or asked for credentials none were given.
	ErrAuth = errors.New("authentication failed")
	// ErrUnknownHost: the SSH server's host is not in known_hosts.
	ErrUnknownHost = errors.New("ssh host key is not in known_hosts")
	// ErrHostKeyMismatch: known_hosts holds another key for the host.
	ErrHostKeyMismatch = errors.New("ssh host key does not match known_hosts")
	// ErrRefNotFound: the branch, tag or commit followed does not exist.
	ErrRefNotFound = errors.New("reference not found")
	// ErrConflict: write-back kept losing the race for the branch.
	ErrConflict = errors.New("write-back conflict")
)

// Auth holds the credentials for one source. Which fields apply depends on
// the URL's scheme: HTTPS uses Username/Password (a token goes in Password)
// or BearerToken; SSH uses SSHKey and must have KnownHosts.
type Auth struct {
	Username, Password string
	BearerToken        string
	CABundle           []byte // extra PEM roots for HTTPS

	SSHUser          string // defaults to the URL's user, then "git"
	SSHKey           []byte // PEM private key (OpenSSH, PKCS#1/8)
	SSHKeyPassphrase string
	KnownHosts       []byte // known_hosts lines; SSH refuses to connect without a match
}

type scheme int

const (
	schemeLocal scheme = iota
	schemeHTTP
	schemeSSH
)

// parseScheme tells the transport of a URL: ssh://, user@host:path (scp
// form), http(s)://, or file:// and plain paths.
func parseScheme(raw string) (scheme, error) {
	switch {
	case strings.HasPrefix(raw, "https://"), strings.HasPrefix(raw, "http://"):
		return schemeHTTP, nil
	case strings.HasPrefix(raw, "ssh://"):
		return schemeSSH, nil
	case strings.HasPrefix(raw, "file://"):
		return schemeLocal, nil
	case strings.Contains(raw, "://"):
		return 0, fmt.Errorf("source URL %q: unsupported scheme", raw)
	}
	if i := strings.Index(raw, ":"); i > 0 && !filepath.IsAbs(raw) && !strings.Contains(raw[:i], "/") {
		return schemeSSH, nil // git@github.com:org/repo.git
	}
	return schemeLocal, nil
}

// authMethod builds go-git's auth for the URL.
func authMethod(raw string, a Auth) (transport.AuthMethod, error) {
	sch, err := parseScheme(raw)
	if err != nil {
		return nil, err
	}
	switch sch {
	case schemeHTTP:
		switch {
		case a.BearerToken != "":
			return &githttp.TokenAuth{Token: a.BearerToken}, nil
		case a.Username != "" || a.Password != "":
			user := a.Username
			if user == "" {
				user = "git" // hosts ignore the user name for tokens, but need one
			}
			return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
		}
		return nil, nil
	case schemeSSH:
		return sshAuth(raw, a)
	}
	return nil, nil
}

func sshAuth(raw string, a Auth) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("source URL %q: %w", raw, err)
	}
	if len(a.SSHKey) == 0 {
		return nil, fmt.Errorf("source %s: SSH needs a private key", raw)
	}
	if len(a.KnownHosts) == 0 {
		return nil, fmt.Errorf("source %s: SSH needs known_hosts for %s: %w", raw, ep.Host, ErrUnknownHost)
	}
	user := a.SSHUser
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, a.SSHKey, a.SSHKeyPassphrase)
	if err != nil {
		return nil, fmt.Errorf("source %s: SSH private key: %w", raw, err)
	}
	db, err := knownHostsDB(a.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("source %s: known_hosts: %w", raw, err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(port))
	check := db.HostKeyCallback()
	keys.HostKeyCallback = func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return fmt.Errorf("%w: %s (%s %s)", ErrUnknownHost, host, key.Type(), ssh.FingerprintSHA256(key))
			}
			return fmt.Errorf("%w: %s offered %s %s", ErrHostKeyMismatch, host, key.Type(), ssh.FingerprintSHA256(key))
		}
		return err
	}
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(hostPort)
	return keys, nil
}

// knownHostsDB parses known_hosts lines. The parsers read files only, so
// the lines pass through a temporary file that is gone on return.
func knownHostsDB(lines []byte) (interface {
	HostKeyCallback() ssh.HostKeyCallback
	HostKeyAlgorithms(hostWithPort string) []string
}, error) {
	f, err := os.CreateTemp("", "ebb-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(lines)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return gitssh.NewKnownHostsDb(f.Name())
}

// classify adds a sentinel to transport errors a caller can act on.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{ErrAuth, ErrUnknownHost, ErrHostKeyMismatch, ErrRefNotFound} {
		if errors.Is(err, s) {
			return err
		}
	}
	// x/crypto/ssh and go-git wrap some errors as text only.
	msg := err.Error()
	switch {
	case strings.Contains(msg, ErrUnknownHost.Error()):
		return fmt.Errorf("%w: %v", ErrUnknownHost, err)
	case strings.Contains(msg, ErrHostKeyMismatch.Error()):
		return fmt.Errorf("%w: %v", ErrHostKeyMismatch, err)
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("%w: %w", ErrAuth, trimmed{err})
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%w: %w", ErrRefNotFound, trimmed{err})
	}
	return err
}

// trimmed drops the newline go-git keeps from an HTTP error body.
type trimmed struct{ error }

func (t trimmed) Error() string { return strings.TrimSpace(t.error.Error()) }
func (t trimmed) Unwrap() error { return t.error }

// describe classifies a transport error and, for a refused
// authentication, says whether credentials were sent at all.
func (s *Source) describe(err error) error {
	err = classify(err)
	if !errors.Is(err, ErrAuth) {
		return err
	}
	switch {
	case s.auth == nil && Redact(s.cfg.URL) != s.cfg.URL:
		return fmt.Errorf("%w (the server refused the credentials in the URL)", err)
	case s.auth == nil:
		return fmt.Errorf("%w (no credentials are configured for this source)", err)
	}
	return fmt.Errorf("%w (the server refused the %s credentials)", err, s.auth.Name())
}
