package engine

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestLoopRefusesUnverifiedHead: with a source that verifies, a signed
// head is applied (and ebb's signed ledger commit on top of it); an
// unsigned head and one signed by an unknown key are refused with the
// commit and the reason in the status, reported once each, and nothing
// is applied; a later signed head is applied.
func TestLoopRefusesUnverifiedHead(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"README": "unsigned first commit\n"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	url := srv.RepoURL("repo.git")
	alice, mallory, ebbKey := gittest.NewSigningKey(t), gittest.NewSigningKey(t), gittest.NewSigningKey(t)
	signers, err := git.ParseAllowedSigners("allowed_signers", []byte(alice.AllowedSigner("alice@example.com", `namespaces="git"`)))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := git.NewSSHVerifier(signers)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := git.NewSSHSigner(ebbKey.PEM, "")
	if err != nil {
		t.Fatal(err)
	}
	src, err := git.New(git.Config{URL: url, Ref: git.Ref{Branch: "main"}, CacheDir: t.TempDir(), Verify: verifier, Signer: signer,
		Author: git.Signature{Name: "ebb", Email: "ebb@example.com"}, Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	target := &recorder{}
	loop := &Loop{Source: src, Target: target}

	// The unsigned first commit: refused, nothing applied.
	p := loop.Sync(context.Background())
	if p.Stage != StageUnverified || target.count() != 0 {
		t.Fatalf("first pass on an unsigned head: %+v, %d applied; want refused, none", p, target.count())
	}

	user := gittest.Clone(t, url, "alice")
	user.SignWith(t, alice)
	signed := user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Signed", "")}, "signed")
	p = loop.Sync(context.Background())
	if p.Err != nil || p.Wrote == "" {
		t.Fatalf("signed head: %+v, want applied with a ledger commit", p)
	}
	applied := target.last(t).At.Commit
	if applied != p.Wrote {
		t.Errorf("applied %s, want ebb's ledger commit %s on top of %s", applied, p.Wrote, signed)
	}

	type view struct{ Fetched, Applied, Stage string }
	for _, step := range []struct {
		name string
		key  gittest.SigningKey
		why  string
	}{
		{"unsigned", gittest.SigningKey{}, "the commit is not signed"},
		{"signed by an unknown key", mallory, "is not an allowed signer"},
	} {
		if _, err := user.Git("pull", "-q", "--rebase", "origin", "main"); err != nil {
			t.Fatal(err)
		}
		user.SignWith(t, step.key)
		head := user.CommitAndPush(t, map[string]string{"service.yaml": helloService(step.name, "")}, step.name)
		n := target.count()
		p := loop.Sync(context.Background())
		if !errors.Is(p.Err, git.ErrUnverified) || p.Stage != StageUnverified || !strings.Contains(p.Err.Error(), head) || !strings.Contains(p.Err.Error(), step.why) {
			t.Errorf("%s: pass %+v, want refused naming %s and %q", step.name, p, head, step.why)
		}
		// Reported once; the status keeps it while it is the head.
		if p := loop.Sync(context.Background()); p.Err != nil || p.Commit != "" {
			t.Errorf("%s: the next pass %+v, want nothing new", step.name, p)
		}
		st := loop.Status()
		if diff := cmp.Diff(view{head, applied, StageUnverified}, view{st.Fetched, st.Applied, st.ErrorStage}); diff != "" {
			t.Errorf("%s: status (-want +got):\n%s", step.name, diff)
		}
		if !strings.Contains(st.LastError, head) || !strings.Contains(st.LastError, step.why) {
			t.Errorf("%s: status error %q, want the commit and %q", step.name, st.LastError, step.why)
		}
		if target.count() != n {
			t.Errorf("%s: %d applies, want none", step.name, target.count()-n)
		}
	}

	user.SignWith(t, alice)
	later := user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Signed again", "")}, "signed again")
	p = loop.Sync(context.Background())
	if p.Err != nil || p.Wrote == "" {
		t.Fatalf("later signed head: %+v, want applied with a ledger commit", p)
	}
	d := target.last(t)
	var revisions []string
	for _, r := range d.Ledgers[0].Revisions {
		revisions = append(revisions, r.Name+"@"+r.Created.Commit)
	}
	// The refused heads made no revision.
	if diff := cmp.Diff([]string{"hello-00001@" + signed, "hello-00002@" + later}, revisions); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
	if st := loop.Status(); st.LastError != "" || st.Applied != p.Wrote {
		t.Errorf("status after the signed head: %+v", st)
	}
}

// TestPreviewVerified: a preview ref of a verifying source is fetched
// only when its head is signed by a trusted key.
func TestPreviewVerified(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"README": "first\n"})
	url := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{}).RepoURL("repo.git")
	alice := gittest.NewSigningKey(t)
	signers, err := git.ParseAllowedSigners("allowed_signers", []byte(alice.AllowedSigner("alice@example.com", "")))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := git.NewSSHVerifier(signers)
	if err != nil {
		t.Fatal(err)
	}
	user := gittest.Clone(t, url, "alice")
	for _, tc := range []struct {
		branch string
		key    gittest.SigningKey
		want   error
	}{
		{"preview/signed", alice, nil},
		{"preview/unsigned", gittest.SigningKey{}, git.ErrUnverified},
	} {
		user.SignWith(t, tc.key)
		head := user.Commit(t, map[string]string{"README": tc.branch}, tc.branch)
		if _, err := user.Git("push", "-q", "origin", "HEAD:refs/heads/"+tc.branch); err != nil {
			t.Fatal(err)
		}
		src, err := OpenPreview(git.Config{URL: url, Verify: verifier}, "refs/heads/"+tc.branch, head)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := src.Fetch(context.Background())
		if !errors.Is(err, tc.want) || c.Hash != head {
			t.Errorf("%s: fetched %s, %v; want %s, %v", tc.branch, c.Hash, err, head, tc.want)
		}
	}
}
