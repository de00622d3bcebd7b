package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpGitVerifiedCommits runs `ebb up URL --verify ssh`: the unsigned
// first commit is refused and nothing runs; a head signed by a trusted
// key is served, and ebb's ledger commits are signed so that git
// verify-commit accepts them; an unsigned head, then one signed by an
// unknown key, are refused with the commit and the reason in
// `ebb get sources` while the signed state keeps serving; a later signed
// head is served.
func TestUpGitVerifiedCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	url, bare := servingRepo(t)
	alice, mallory, ebbKey := gittest.NewSigningKey(t), gittest.NewSigningKey(t), gittest.NewSigningKey(t)
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowed, []byte(alice.AllowedSigner("alice@example.com", `namespaces="git"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	u := startUpGit(t, url, "--verify", "ssh", "--allowed-signers", allowed, "--signing-key", ebbKey.File)
	first := gittest.Run(t, bare, "rev-parse", "main")
	eventually(t, "the unsigned first commit refused", time.Minute, func() string {
		if st := u.source(t); st.ErrorStage != "unverified" || st.Fetched != first || st.Applied != "" ||
			!strings.Contains(st.LastError, "commit "+first+": not signed by a trusted key: the commit is not signed") {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})

	const host = "hello.default.svc.cluster.local"
	const svcPath = "apps/hello/service.yaml"
	user := gittest.Clone(t, url, "alice")
	push := func(key gittest.SigningKey, target, msg string) string {
		t.Helper()
		if out, err := user.Git("pull", "--rebase", "--quiet"); err != nil {
			t.Fatalf("pull: %v\n%s", err, out)
		}
		user.SignWith(t, key)
		h := user.CommitAndPush(t, map[string]string{svcPath: helloWith(target, "    - latestRevision: true\n      percent: 100\n")}, msg)
		u.kick(t, "refs/heads/main")
		return h
	}
	serves := func(what, body string) {
		t.Helper()
		eventually(t, what, 2*time.Minute, func() string {
			if code, got, err := u.get(host); err != nil || code != 200 || got != body {
				return fmt.Sprintf("%d %q %v", code, got, err)
			}
			return ""
		})
	}
	push(alice, "World", "hello: signed by alice")
	serves("the signed head served", "Hello World!\n")
	readyRecorded(t, u, bare, "hello-00001")
	ebbAllowed := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(ebbAllowed, []byte(alice.AllowedSigner("alice@example.com", "")+ebbKey.AllowedSigner("ebb@localhost", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	ledgerCommit := gittest.Run(t, bare, "rev-parse", "main")
	if out, err := gittest.RunErr(bare, nil, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+ebbAllowed, "verify-commit", ledgerCommit); err != nil {
		t.Errorf("git verify-commit of ebb's ledger commit %s: %v %s", ledgerCommit, err, out)
	}

	for _, step := range []struct {
		name string
		key  gittest.SigningKey
		why  string
	}{
		{"unsigned", gittest.SigningKey{}, "the commit is not signed"},
		{"signed by an unknown key", mallory, "is not an allowed signer"},
	} {
		applied := u.source(t).Applied
		head := push(step.key, "Refused", "hello: "+step.name)
		eventually(t, step.name+" refused", time.Minute, func() string {
			if st := u.source(t); st.ErrorStage != "unverified" || st.Fetched != head || st.Applied != applied ||
				!strings.Contains(st.LastError, head) || !strings.Contains(st.LastError, step.why) {
				return fmt.Sprintf("%+v", st)
			}
			return ""
		})
		if out, err := exec.Command(ebbBin, "get", "sources", "--admin", u.admin).Output(); err != nil || !strings.Contains(string(out), head) || !strings.Contains(string(out), step.why) {
			t.Errorf("ebb get sources: %v\n%s", err, out)
		}
		if !strings.Contains(u.errOut(), "at "+head[:12]+" is refused; what runs is unchanged") {
			t.Errorf("stderr does not report %s refused:\n%s", head, u.errOut())
		}
		if counts := u.split(t, host, 20); counts["Hello World!\n"] != 20 {
			t.Errorf("after the %s head: %v", step.name, counts)
		}
	}

	push(alice, "Ebb", "hello: Ebb, signed by alice")
	serves("the later signed head served", "Hello Ebb!\n")
	if st := u.source(t); st.ErrorStage != "" {
		t.Errorf("after the signed head: %+v", st)
	}
}
