package gittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SigningKey is an SSH key pair for signing commits, its private key in
// a file git can use (user.signingkey with gpg.format=ssh).
type SigningKey struct {
	File   string // the OpenSSH private key, mode 0600
	PEM    []byte
	Signer ssh.Signer
}

// NewSigningKey makes an ed25519 SigningKey.
func NewSigningKey(t testing.TB) SigningKey {
	t.Helper()
	pemKey, signer := NewKey(t)
	f := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(f, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return SigningKey{File: f, PEM: pemKey, Signer: signer}
}

// AllowedSigner is k's line in an allowed signers file, for principal
// with options ("" for none), e.g. `namespaces="git"`.
func (k SigningKey) AllowedSigner(principal, options string) string {
	line := principal + " "
	if options != "" {
		line += options + " "
	}
	return line + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey()))) + "\n"
}

// SignWith makes the clone's later commits signed with k by git itself
// (gpg.format=ssh, through ssh-keygen); a zero k makes them unsigned.
func (c *Client) SignWith(t testing.TB, k SigningKey) {
	t.Helper()
	args := [][]string{{"config", "commit.gpgsign", "false"}}
	if k.File != "" {
		args = [][]string{{"config", "gpg.format", "ssh"}, {"config", "user.signingkey", k.File}, {"config", "commit.gpgsign", "true"}}
	}
	for _, a := range args {
		if _, err := c.Git(a...); err != nil {
			t.Fatal(err)
		}
	}
}

// RunStdin runs git in dir with stdin as its input and returns its
// output, trimmed.
func RunStdin(dir, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
