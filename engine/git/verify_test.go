package git

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// needTool skips a test when a tool it checks against is missing, unless
// the full suite requires it.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("EBB_FULL_TEST") == "1" && name != "gpg" {
			t.Fatalf("%s is required (EBB_FULL_TEST=1): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
}

// TestVerifySSH: commits signed by git itself (gpg.format=ssh) and by
// ebb's SSHSigner are accepted or refused exactly as git verify-commit
// with the same allowed signers file decides.
func TestVerifySSH(t *testing.T) {
	needTool(t, "ssh-keygen")
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	c := gittest.Clone(t, filepath.Join(root, "repo.git"), "Alice")
	alice, mallory, fileOnly, expired, future, negated := gittest.NewSigningKey(t), gittest.NewSigningKey(t),
		gittest.NewSigningKey(t), gittest.NewSigningKey(t), gittest.NewSigningKey(t), gittest.NewSigningKey(t)
	allowed := "# trusted\n\n" + alice.AllowedSigner("alice@example.com", "") +
		fileOnly.AllowedSigner("f@example.com", `namespaces="file"`) +
		expired.AllowedSigner("e@example.com", `valid-before="20000101Z"`) +
		future.AllowedSigner("u@example.com", `valid-after="29990101"`) +
		negated.AllowedSigner("n@example.com", `namespaces="*,!git"`)
	allowedFile := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowedFile, []byte(allowed), 0o600); err != nil {
		t.Fatal(err)
	}
	signers, err := ParseAllowedSigners("allowed_signers", []byte(allowed))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewSSHVerifier(signers)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(k gittest.SigningKey, msg string) string {
		c.SignWith(t, k)
		return c.Commit(t, map[string]string{"f": msg}, msg)
	}
	repo, err := gogit.PlainOpen(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	good := commit(alice, "signed by alice")
	// ebb's own signer, on top of alice's commit.
	ebbSigner, err := NewSSHSigner(alice.PEM, "")
	if err != nil {
		t.Fatal(err)
	}
	ebbCommit, err := CommitFiles(repo.Storer, plumbing.NewHash(good), map[string][]byte{".ebb/x.yaml": []byte("x")}, "ebb: x",
		object.Signature{Name: "ebb", Email: "ebb@example.com", When: time.Now()}, ebbSigner)
	if err != nil {
		t.Fatal(err)
	}
	// The signature of good, on other content.
	raw := gittest.Run(t, c.Dir, "cat-file", "commit", good)
	forged, err := gittest.RunStdin(c.Dir, strings.Replace(raw, "signed by alice", "signed by alice, edited", 1), "hash-object", "-t", "commit", "-w", "--stdin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, commit, want string // want: "" verified, else part of the error
	}{
		{"allowed key", good, ""},
		{"ebb's signer", ebbCommit.String(), ""},
		{"unsigned", commit(gittest.SigningKey{}, "unsigned"), "the commit is not signed"},
		{"unknown key", commit(mallory, "mallory"), "is not an allowed signer"},
		{"namespace not allowed", commit(fileOnly, "file namespace"), `namespace "git" is not in namespaces="file"`},
		{"namespace negated", commit(negated, "negated"), `namespaces="*,!git"`},
		{"key expired", commit(expired, "expired"), "after valid-before 2000-01-01T00:00:00Z"},
		{"key not valid yet", commit(future, "future"), "before valid-after"},
		{"content changed", forged, "SSH signature does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co, err := repo.CommitObject(plumbing.NewHash(tc.commit))
			if err != nil {
				t.Fatal(err)
			}
			who, err := v.Verify(co)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Verify: %v, want verified", err)
			case tc.want == "" && !strings.Contains(who, "alice@example.com"):
				t.Errorf("signer %q, want alice's principal", who)
			case tc.want != "" && (!errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.commit)):
				t.Errorf("Verify: %v, want ErrUnverified naming the commit and %q", err, tc.want)
			}
			out, gitErr := gittest.RunErr(c.Dir, nil, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowedFile, "verify-commit", tc.commit)
			if (gitErr == nil) != (err == nil) {
				t.Errorf("ebb says %v; git verify-commit says %v: %s", err, gitErr, out)
			}
		})
	}
}

func TestParseAllowedSigners(t *testing.T) {
	k := gittest.NewSigningKey(t)
	key := strings.TrimSpace(k.AllowedSigner("", ""))
	for _, tc := range []struct{ name, in, want string }{
		{"no key", "alice@example.com\n", "allowed:1: want principals, then a key"},
		{"bad key", "# c\nalice@example.com ssh-ed25519 AAAA\n", "allowed:2: key:"},
		{"unknown option", "a " + `no-touch-required ` + key, "allowed:1: option no-touch-required: unsupported option"},
		{"cert-authority", "a cert-authority " + key, "SSH certificates are not supported"},
		{"bad time", "a " + `valid-after="2024"` + " " + key, `want YYYYMMDD[HHMM[SS]][Z], got "2024"`},
		{"unterminated quote", `"a b ` + key, "principals: unterminated quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAllowedSigners("allowed", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	got, err := ParseAllowedSigners("allowed", []byte(`"alice@example.com,bob@example.com" namespaces="git,file",valid-after="20240102030405Z" `+key+" comment\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Principals != "alice@example.com,bob@example.com" || got[0].Namespaces != "git,file" ||
		!got[0].ValidAfter.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) || got[0].Line != "allowed:1" {
		t.Errorf("parsed %+v", got)
	}
}

func FuzzParseAllowedSigners(f *testing.F) {
	f.Add([]byte("a@example.com namespaces=\"git\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"))
	f.Add([]byte("\"a b\" valid-before=\"20300101Z\" ssh-rsa AAAA x\n# c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseAllowedSigners("f", b)
	})
}

func FuzzParseSSHSignature(f *testing.F) {
	k := gittest.NewSigningKey(f)
	sig, err := SSHSigner{Key: k.Signer}.Sign(strings.NewReader("payload"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(sig))
	f.Add(sshsigBegin + "\nU1NIU0lH\n" + sshsigEnd)
	f.Fuzz(func(t *testing.T, s string) {
		if sig, err := parseSSHSignature(s); err == nil {
			_ = sig.verify("git", strings.NewReader("payload"))
		}
	})
}

// newOpenPGPKey makes an OpenPGP key and its armored public key.
func newOpenPGPKey(t *testing.T, name string) (*openpgp.Entity, []byte) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", strings.ToLower(name)+"@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return e, b.Bytes()
}

// TestVerifyOpenPGP: commits signed with OpenPGP keys verify against an
// armored key ring of several blocks; others are refused; gpg agrees
// where it is installed.
func TestVerifyOpenPGP(t *testing.T) {
	alice, alicePub := newOpenPGPKey(t, "Alice")
	bob, bobPub := newOpenPGPKey(t, "Bob")
	mallory, _ := newOpenPGPKey(t, "Mallory")
	v, err := NewOpenPGPVerifier(append(append(alicePub, '\n'), bobPub...))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	sig := object.Signature{Name: "A", Email: "a@example.com", When: time.Now()}
	commit := func(parent plumbing.Hash, msg string, signer gogit.Signer) plumbing.Hash {
		h, err := CommitFiles(repo.Storer, parent, map[string][]byte{"f": []byte(msg)}, msg, sig, signer)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := commit(plumbing.ZeroHash, "alice", openPGPSigner{alice})
	second := commit(first, "bob", openPGPSigner{bob})
	for _, tc := range []struct {
		name string
		h    plumbing.Hash
		want string
	}{
		{"alice", first, ""},
		{"bob, from the second block", second, ""},
		{"mallory", commit(second, "mallory", openPGPSigner{mallory}), "OpenPGP signature: openpgp: signature made by unknown entity"},
		{"unsigned", commit(second, "unsigned", nil), "the commit is not signed"},
		{"ssh", commit(second, "ssh", SSHSigner{Key: gittest.NewSigningKey(t).Signer}), "the commit has an ssh signature; only openpgp signatures are accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			co, err := repo.CommitObject(tc.h)
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(co)
			if tc.want == "" && err != nil {
				t.Fatalf("Verify: %v, want verified", err)
			}
			if tc.want != "" && (!errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Verify: %v, want ErrUnverified and %q", err, tc.want)
			}
		})
	}
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Log("gpg not installed: not checked against git verify-commit")
		return
	}
	home := t.TempDir()
	env := append(gittest.Env("v", "v@example.com"), "GNUPGHOME="+home)
	cmd := exec.Command("gpg", "--batch", "--import")
	cmd.Env, cmd.Stdin = env, bytes.NewReader(alicePub)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v %s", err, out)
	}
	if out, err := gittest.RunErr(dir, env, "verify-commit", first.String()); err != nil {
		t.Errorf("git verify-commit of alice's commit: %v %s", err, out)
	}
	if _, err := gittest.RunErr(dir, env, "verify-commit", second.String()); err == nil {
		t.Errorf("git verify-commit of bob's commit without bob's key: verified")
	}
}
