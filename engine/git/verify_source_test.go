package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestFetchVerified: over a real git server, a source that verifies
// loads signed heads, refuses an unsigned one (naming it, loading none
// of its files, counting it once per fetch), loads the next signed head,
// and its own ledger commits verify because its signing key is trusted.
func TestFetchVerified(t *testing.T) {
	needTool(t, "ssh-keygen")
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	url := srv.RepoURL("repo.git")
	alice, ebbKey := gittest.NewSigningKey(t), gittest.NewSigningKey(t)
	signers, err := ParseAllowedSigners("allowed_signers", []byte(alice.AllowedSigner("alice@example.com", "")))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := NewSSHVerifier(signers)
	if err != nil {
		t.Fatal(err)
	}
	ebbSigner, err := NewSSHSigner(ebbKey.PEM, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newWriteSource(t, url, Config{Verify: verifier, Signer: ebbSigner})
	user := gittest.Clone(t, url, "Alice")
	user.SignWith(t, alice)
	signed := user.CommitAndPush(t, map[string]string{"b": "b"}, "signed")
	c, changed := mustFetch(t, s)
	if c.Hash != signed || !changed {
		t.Fatalf("fetched %s (changed %v), want the signed %s", c.Hash, changed, signed)
	}

	// ebb's ledger commit is signed with its own key and verifies, for
	// this source and for a new one with the same configuration.
	ledger, wrote, err := s.WriteBack(context.Background(), c, map[string][]byte{".ebb/x.yaml": []byte("x")}, "ebb: x", noReplan)
	if err != nil || !wrote {
		t.Fatalf("write back: %v (wrote %v)", err, wrote)
	}
	fresh := newWriteSource(t, url, Config{Verify: verifier, Signer: ebbSigner})
	if c, _ := mustFetch(t, fresh); c.Hash != ledger.Hash {
		t.Errorf("a new source fetched %s, want the ledger commit %s", c.Hash, ledger.Hash)
	}
	// Without ebb's key among the trusted ones it would not.
	stranger := newWriteSource(t, url, Config{Verify: verifier})
	if _, _, err := stranger.Fetch(context.Background()); !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), "is not an allowed signer") {
		t.Errorf("a source not trusting ebb's key: %v, want ErrUnverified", err)
	}
	// git agrees, with ebb's key in the allowed signers file.
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowed, []byte(alice.AllowedSigner("alice@example.com", "")+ebbKey.AllowedSigner("ebb@example.com", `namespaces="git"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gittest.RunErr(filepath.Join(root, "repo.git"), nil, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", ledger.Hash); err != nil {
		t.Errorf("git verify-commit of ebb's ledger commit: %v", err)
	}

	// An unsigned head is refused: its hash and time come back, no files.
	if _, err := user.Git("pull", "-q", "--rebase", "origin", "main"); err != nil {
		t.Fatal(err)
	}
	user.SignWith(t, gittest.SigningKey{})
	unsigned := user.CommitAndPush(t, map[string]string{"b": "changed"}, "unsigned")
	for i, wantChanged := range []bool{true, false} {
		c, changed, err := s.Fetch(context.Background())
		if !errors.Is(err, ErrUnverified) || !strings.Contains(err.Error(), "commit "+unsigned+": not signed by a trusted key: the commit is not signed") {
			t.Fatalf("fetch %d of the unsigned head: %v, want ErrUnverified naming it", i, err)
		}
		if c.Hash != unsigned || c.Files != nil || changed != wantChanged || c.Time.IsZero() {
			t.Errorf("fetch %d: %s, files %v, changed %v; want %s without files, changed %v", i, c.Hash, c.Files, changed, unsigned, wantChanged)
		}
	}
	if st := s.Status(); st.Counters.Unverified != 2 || st.Counters.FetchErrors != 0 || st.Commit != ledger.Hash || !strings.Contains(st.LastError, unsigned) {
		t.Errorf("status %+v, want 2 unverified fetches, the ledger commit still the last loaded, the refusal as last error", st)
	}
	// Writing on top of it is refused too: the conflict's fetch does not
	// load it, so no ledger commit signed by ebb ever covers it.
	if _, _, err := s.WriteBack(context.Background(), ledger, map[string][]byte{".ebb/y.yaml": []byte("y")}, "ebb: y",
		func(context.Context, Commit) (map[string][]byte, string, error) {
			t.Error("replan called on the unsigned head")
			return nil, "", nil
		}); !errors.Is(err, ErrUnverified) {
		t.Errorf("write back over the unsigned head: %v, want ErrUnverified", err)
	}

	// The branch back at the last verified commit: a change, and loaded.
	if _, err := user.Git("push", "-q", "--force", "origin", ledger.Hash+":refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	if c, changed := mustFetch(t, s); c.Hash != ledger.Hash || !changed {
		t.Errorf("after the reset: %s (changed %v), want %s changed", c.Hash, changed, ledger.Hash)
	}
	// A later signed head is loaded.
	if _, err := user.Git("reset", "-q", "--hard", ledger.Hash); err != nil {
		t.Fatal(err)
	}
	user.SignWith(t, alice)
	later := user.CommitAndPush(t, map[string]string{"b": "signed again"}, "signed again")
	if c, changed := mustFetch(t, s); c.Hash != later || !changed || readAll(t, c.Files)["b"] != "signed again" {
		t.Errorf("fetched %s (changed %v), want the later signed %s", c.Hash, changed, later)
	}

	// A verifying source without a signing key never commits unsigned.
	if _, _, err := stranger.WriteBack(context.Background(), ledger, map[string][]byte{".ebb/z.yaml": []byte("z")}, "ebb: z", noReplan); err == nil || !strings.Contains(err.Error(), "configure a signing key") {
		t.Errorf("write back without a signing key: %v", err)
	}
}
