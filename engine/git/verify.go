package git

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// ErrUnverified marks a commit that is not signed by a trusted key: a
// source that verifies never loads it.
var ErrUnverified = errors.New("not signed by a trusted key")

// Verification formats, as git's gpg.format names them.
const (
	FormatOpenPGP = "openpgp"
	FormatSSH     = "ssh"
)

// Verifier accepts commits signed by trusted keys, in one format: OpenPGP
// (an armored key ring, checked with go-git's Commit.Verify) or SSH (an
// allowed signers file, checked as git verify-commit with gpg.format=ssh
// does: namespace "git", at the committer time).
type Verifier struct {
	format  string
	keyring string          // armored public keys, openpgp
	signers []AllowedSigner // ssh
}

// NewOpenPGPVerifier trusts the keys of an armored OpenPGP key ring (gpg
// --export --armor KEY…; several armored blocks may follow each other).
func NewOpenPGPVerifier(armoredKeyRing []byte) (*Verifier, error) {
	var keys openpgp.EntityList
	rest := armoredKeyRing
	for len(bytes.TrimSpace(rest)) > 0 {
		block, err := armor.Decode(bytes.NewReader(rest))
		if err != nil {
			return nil, fmt.Errorf("OpenPGP key ring: %w", err)
		}
		el, err := openpgp.ReadKeyRing(block.Body)
		if err != nil {
			return nil, fmt.Errorf("OpenPGP key ring: %w", err)
		}
		keys = append(keys, el...)
		// The next block, if any, starts after this one's end line.
		i := bytes.Index(rest, []byte("-----END "))
		j := bytes.IndexByte(rest[max(i, 0):], '\n')
		if i < 0 || j < 0 {
			break
		}
		rest = rest[i+j+1:]
	}
	if len(keys) == 0 {
		return nil, errors.New("OpenPGP key ring: no keys")
	}
	v := &Verifier{format: FormatOpenPGP}
	return v, v.setKeyring(keys)
}

// NewSSHVerifier trusts the keys of allowed signers (ParseAllowedSigners).
func NewSSHVerifier(signers []AllowedSigner) (*Verifier, error) {
	if len(signers) == 0 {
		return nil, errors.New("allowed signers: no keys")
	}
	return &Verifier{format: FormatSSH, signers: signers}, nil
}

func (v *Verifier) setKeyring(keys openpgp.EntityList) error {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	for _, e := range keys {
		if err := e.Serialize(w); err != nil {
			return fmt.Errorf("OpenPGP key %X: %w", e.PrimaryKey.Fingerprint, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	v.keyring = b.String()
	return nil
}

// Format is FormatOpenPGP or FormatSSH.
func (v *Verifier) Format() string { return v.format }

// trusting returns a copy of v that also trusts the public key of
// signer, the key ebb signs its own ledger commits with, so that they
// verify like any trusted commit. The signer must sign in v's format.
func (v *Verifier) trusting(signer gogit.Signer) (*Verifier, error) {
	out := &Verifier{format: v.format, keyring: v.keyring, signers: slices.Clone(v.signers)}
	switch s := signer.(type) {
	case SSHSigner:
		if v.format != FormatSSH {
			return nil, fmt.Errorf("ledger commits are signed with SSH, verification is %s", v.format)
		}
		out.signers = append(out.signers, AllowedSigner{Principals: "ebb", Key: s.Key.PublicKey(), Line: "ebb's signing key"})
		return out, nil
	case openPGPSigner:
		if v.format != FormatOpenPGP {
			return nil, fmt.Errorf("ledger commits are signed with OpenPGP, verification is %s", v.format)
		}
		keys, err := openpgp.ReadArmoredKeyRing(strings.NewReader(v.keyring))
		if err != nil {
			return nil, err
		}
		return out, out.setKeyring(append(keys, s.key))
	}
	return nil, fmt.Errorf("ledger commits are signed by a %T, which verification cannot trust", signer)
}

// Verify checks c's signature and returns who signed it: "OpenPGP key
// <fingerprint> (<identity>)" or "SSH key <fingerprint> (<principals>)".
// An unsigned commit, another format's signature, an unknown key or a bad
// signature is an error wrapping ErrUnverified that names the commit.
func (v *Verifier) Verify(c *object.Commit) (string, error) {
	who, err := v.verify(c)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w: %v", c.Hash, ErrUnverified, err)
	}
	return who, nil
}

func (v *Verifier) verify(c *object.Commit) (string, error) {
	sig := strings.TrimSpace(c.PGPSignature)
	format := ""
	switch {
	case sig == "":
		return "", errors.New("the commit is not signed")
	case strings.HasPrefix(sig, sshsigBegin):
		format = FormatSSH
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		format = FormatOpenPGP
	default:
		return "", errors.New("the commit's signature is neither OpenPGP nor SSH")
	}
	if format != v.format {
		return "", fmt.Errorf("the commit has an %s signature; only %s signatures are accepted", format, v.format)
	}
	if format == FormatOpenPGP {
		e, err := c.Verify(v.keyring)
		if err != nil {
			return "", fmt.Errorf("OpenPGP signature: %w", err)
		}
		who := fmt.Sprintf("OpenPGP key %X", e.PrimaryKey.Fingerprint)
		for name := range e.Identities {
			who += " (" + name + ")"
			break
		}
		return who, nil
	}
	return v.verifySSH(c, sig)
}

// verifySSH checks an SSH signature against the allowed signers, at the
// committer time, as git verify-commit (ssh-keygen -Y find-principals,
// then -Y verify -n git) does.
func (v *Verifier) verifySSH(c *object.Commit, armored string) (string, error) {
	s, err := parseSSHSignature(armored)
	if err != nil {
		return "", err
	}
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return "", err
	}
	r, err := payload.Reader()
	if err != nil {
		return "", err
	}
	if err := s.verify(sshsigNamespace, r); err != nil {
		return "", err
	}
	fp := ssh.FingerprintSHA256(s.Key)
	var refusals []string
	for _, a := range v.signers {
		if !bytes.Equal(a.Key.Marshal(), s.Key.Marshal()) {
			continue
		}
		if err := a.allows(sshsigNamespace, c.Committer.When); err != nil {
			refusals = append(refusals, err.Error())
			continue
		}
		return "SSH key " + fp + " (" + a.Principals + ")", nil
	}
	if len(refusals) > 0 {
		return "", fmt.Errorf("SSH key %s is not allowed: %s", fp, strings.Join(refusals, "; "))
	}
	return "", fmt.Errorf("SSH key %s %s is not an allowed signer", s.Key.Type(), fp)
}

// ParseSigningKey reads the key ebb signs ledger commits with: an armored
// OpenPGP private key (gpg --export-secret-keys --armor), or an SSH
// private key (OpenSSH, PKCS#1 or PKCS#8 PEM) for git's SSH format.
// passphrase unlocks an encrypted key.
func ParseSigningKey(b []byte, passphrase string) (gogit.Signer, error) {
	if !bytes.Contains(b, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
		return NewSSHSigner(b, passphrase)
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("OpenPGP signing key: %w", err)
	}
	e := keys[0]
	if e.PrivateKey == nil {
		return nil, errors.New("OpenPGP signing key: a public key, not a private one")
	}
	if e.PrivateKey.Encrypted {
		if err := e.DecryptPrivateKeys([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("OpenPGP signing key: %w", err)
		}
	}
	return openPGPSigner{e}, nil
}
