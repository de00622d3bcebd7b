package git

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
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
	sshsigBegin     = "-----BEGIN SSH SIGNATURE-----"
	sshsigEnd       = "-----END SSH SIGNATURE-----"
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
	b.WriteString(sshsigBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + sshsigEnd + "\n")
	return []byte(b.String()), nil
}

// sshSignature is a decoded SSHSIG blob.
type sshSignature struct {
	Key       ssh.PublicKey
	Namespace string
	Reserved  string
	Hash      string
	Sig       *ssh.Signature
}

// parseSSHSignature decodes an armored SSH signature (one block, as
// ssh-keygen -Y sign and git's gpg.format=ssh write it).
func parseSSHSignature(armored string) (*sshSignature, error) {
	body, ok := strings.CutPrefix(strings.TrimSpace(armored), sshsigBegin)
	if !ok {
		return nil, errors.New("not an SSH signature")
	}
	body, ok = strings.CutSuffix(body, sshsigEnd)
	if !ok || strings.Contains(body, "-----") {
		return nil, errors.New("SSH signature: want exactly one armored block")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("SSH signature: %w", err)
	}
	rest, ok := strings.CutPrefix(string(raw), sshsigMagic)
	if !ok {
		return nil, errors.New("SSH signature: no SSHSIG magic")
	}
	var blob struct {
		Version                              uint32
		PublicKey, Namespace, Reserved, Hash string
		Signature                            string
	}
	if err := ssh.Unmarshal([]byte(rest), &blob); err != nil {
		return nil, fmt.Errorf("SSH signature: %w", err)
	}
	if blob.Version != 1 {
		return nil, fmt.Errorf("SSH signature: version %d, want 1", blob.Version)
	}
	key, err := ssh.ParsePublicKey([]byte(blob.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("SSH signature: public key: %w", err)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal([]byte(blob.Signature), sig); err != nil {
		return nil, fmt.Errorf("SSH signature: %w", err)
	}
	return &sshSignature{Key: key, Namespace: blob.Namespace, Reserved: blob.Reserved, Hash: blob.Hash, Sig: sig}, nil
}

// verify checks that s signs message in namespace, as ssh-keygen -Y
// verify does: the namespace, a SHA-256 or SHA-512 digest, and for RSA
// keys an rsa-sha2-* signature (never SHA-1).
func (s *sshSignature) verify(namespace string, message io.Reader) error {
	if s.Namespace != namespace {
		return fmt.Errorf("SSH signature for namespace %q, want %q", s.Namespace, namespace)
	}
	var h hash.Hash
	switch s.Hash {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("SSH signature: hash %q, want sha256 or sha512", s.Hash)
	}
	if _, err := io.Copy(h, message); err != nil {
		return err
	}
	if _, ok := s.Key.(*ssh.Certificate); ok {
		return errors.New("SSH signature by a certificate: certificates are not supported")
	}
	if s.Key.Type() == ssh.KeyAlgoRSA && s.Sig.Format == ssh.KeyAlgoRSA {
		return errors.New("SSH signature: RSA with SHA-1 (ssh-rsa) is refused")
	}
	signed := sshsigMagic + string(ssh.Marshal(struct {
		Namespace, Reserved, Hash, Digest string
	}{s.Namespace, s.Reserved, s.Hash, string(h.Sum(nil))}))
	if err := s.Key.Verify([]byte(signed), s.Sig); err != nil {
		return fmt.Errorf("SSH signature does not verify: %w", err)
	}
	return nil
}
