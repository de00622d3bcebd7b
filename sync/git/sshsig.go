package git

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"golang.org/x/crypto/ssh"
)

// SSHSigner signs ledger commits with an SSH key in git's "ssh" signature
// format (OpenSSH's SSHSIG, namespace "git", SHA-512), which git verifies
// with gpg.format=ssh and an allowed signers file. go-git has no SSH
// signer of its own; it takes any Signer.
type SSHSigner struct {
	Key ssh.Signer
}

var _ gogit.Signer = SSHSigner{}

// NewSSHSigner parses a PEM private key for SSHSigner.
func NewSSHSigner(pemKey []byte, passphrase string) (SSHSigner, error) {
	var k ssh.Signer
	var err error
	if passphrase != "" {
		k, err = ssh.ParsePrivateKeyWithPassphrase(pemKey, []byte(passphrase))
	} else {
		k, err = ssh.ParsePrivateKey(pemKey)
	}
	if err != nil {
		return SSHSigner{}, fmt.Errorf("ssh signing key: %w", err)
	}
	return SSHSigner{Key: k}, nil
}

const (
	sshsigMagic     = "SSHSIG"
	sshsigNamespace = "git"
	sshsigHash      = "sha512"
)

// Sign returns the armored SSH signature of message.
func (s SSHSigner) Sign(message io.Reader) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	signed := sshsigMagic + string(ssh.Marshal(struct {
		Namespace, Reserved, Hash, Digest string
	}{sshsigNamespace, "", sshsigHash, string(h.Sum(nil))}))
	var sig *ssh.Signature
	var err error
	if as, ok := s.Key.(ssh.AlgorithmSigner); ok && s.Key.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, []byte(signed), ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.Key.Sign(rand.Reader, []byte(signed))
	}
	if err != nil {
		return nil, fmt.Errorf("ssh sign: %w", err)
	}
	blob := sshsigMagic + string(ssh.Marshal(struct {
		Version                              uint32
		PublicKey, Namespace, Reserved, Hash string
		Signature                            string
	}{1, string(s.Key.PublicKey().Marshal()), sshsigNamespace, "", sshsigHash, string(ssh.Marshal(sig))}))
	enc := base64.StdEncoding.EncodeToString([]byte(blob))
	var b strings.Builder
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n-----END SSH SIGNATURE-----\n")
	return []byte(b.String()), nil
}
