package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/ebb-dev/ebb/internal/gittest"
)

var noReplan Replan = func(context.Context, Commit) (map[string][]byte, string, error) {
	return nil, "", errors.New("replan not expected")
}

// gitLog lists the subjects of the branch's commits, oldest first.
func gitLog(t *testing.T, bare string) []string {
	t.Helper()
	out := gittest.Run(t, bare, "log", "--reverse", "--format=%s", "main")
	return strings.Split(out, "\n")
}

func newWriteSource(t *testing.T, url string, cfg Config) *Source {
	t.Helper()
	cfg.URL, cfg.Ref = url, Ref{Branch: "main"}
	if cfg.CacheDir == "" {
		cfg.CacheDir = t.TempDir()
	}
	cfg.Author = Signature{Name: "ebb", Email: "ebb@example.com"}
	cfg.When = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	cfg.Backoff = func(int) time.Duration { return 0 }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWriteBack(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"apps/hello/service.yaml": "svc\n", ".ebb/default/old.yaml": "old\n"})
	bare := filepath.Join(root, "repo.git")
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	s := newWriteSource(t, srv.RepoURL("repo.git"), Config{})
	base, _ := mustFetch(t, s)

	files := map[string][]byte{
		".ebb/default/hello.yaml": []byte("revisions: [hello-00001]\n"),
		".ebb/default/old.yaml":   nil,
	}
	msg := "ebb: hello-00001 at 100% (latestRevision)"
	c, written, err := s.WriteBack(context.Background(), base, files, msg, noReplan)
	if err != nil || !written {
		t.Fatalf("WriteBack = %v, %v", written, err)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != c.Hash {
		t.Errorf("branch at %s, want the ledger commit %s", got, c.Hash)
	}
	if got := gittest.Run(t, bare, "log", "-1", "--format=%an <%ae>|%cn|%s|%P", "main"); got != "ebb <ebb@example.com>|ebb|"+msg+"|"+base.Hash {
		t.Errorf("ledger commit = %q", got)
	}
	if got := gittest.Run(t, bare, "diff", "--name-status", base.Hash, c.Hash); got != "A\t.ebb/default/hello.yaml\nD\t.ebb/default/old.yaml" {
		t.Errorf("ledger commit changes:\n%s", got)
	}
	gittest.Run(t, bare, "fsck", "--no-progress")
	want := map[string]string{"apps/hello/service.yaml": "svc\n", ".ebb/default/hello.yaml": "revisions: [hello-00001]\n"}
	if diff := cmp.Diff(want, readAll(t, c.Files)); diff != "" {
		t.Errorf("files of the ledger commit (-want +got):\n%s", diff)
	}

	// The branch is where ebb left it: nothing changed, nothing fetched.
	packs := srv.UploadPacks()
	if again, changed := mustFetch(t, s); changed || again.Hash != c.Hash {
		t.Errorf("Fetch after write-back = %s, %v; want %s, false", again.Hash, changed, c.Hash)
	}
	// Writing the same ledger again commits nothing.
	pushes := srv.ReceivePacks()
	same, written, err := s.WriteBack(context.Background(), c, map[string][]byte{".ebb/default/hello.yaml": []byte("revisions: [hello-00001]\n")}, msg, noReplan)
	if err != nil || written || same.Hash != c.Hash {
		t.Errorf("repeated WriteBack = %s, %v, %v; want %s, false", same.Hash, written, err, c.Hash)
	}
	if srv.ReceivePacks() != pushes || srv.UploadPacks() != packs {
		t.Errorf("no-op write-back talked to the server")
	}
	if got := len(gitLog(t, bare)); got != 2 {
		t.Errorf("branch has %d commits, want 2", got)
	}
	st := s.Status().Counters
	if st.WriteBacks != 1 || st.SkippedWrites != 1 || st.Conflicts != 0 {
		t.Errorf("counters = %+v", st)
	}

	if _, _, err := s.WriteBack(context.Background(), c, map[string][]byte{"apps/x.yaml": []byte("x")}, "x", noReplan); err == nil {
		t.Error("write-back outside .ebb/ succeeded")
	}
}

func TestWriteBackConflictReplans(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"apps/a.yaml": "a\n"})
	bare := filepath.Join(root, "repo.git")
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	s := newWriteSource(t, srv.RepoURL("repo.git"), Config{})
	base, _ := mustFetch(t, s)

	user := gittest.Clone(t, srv.RepoURL("repo.git"), "Other User")
	userCommit := user.CommitAndPush(t, map[string]string{"apps/b.yaml": "b\n"}, "user: add b")

	var heads []string
	replan := func(_ context.Context, head Commit) (map[string][]byte, string, error) {
		heads = append(heads, head.Hash)
		if _, err := head.Files.Open("apps/b.yaml"); err != nil {
			return nil, "", err
		}
		return map[string][]byte{".ebb/default/b.yaml": []byte("b\n"), ".ebb/default/a.yaml": []byte("a\n")}, "ebb: a and b", nil
	}
	c, written, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/default/a.yaml": []byte("a\n")}, "ebb: a", replan)
	if err != nil || !written {
		t.Fatalf("WriteBack = %v, %v", written, err)
	}
	if diff := cmp.Diff([]string{userCommit}, heads); diff != "" {
		t.Errorf("replan heads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"initial", "user: add b", "ebb: a and b"}, gitLog(t, bare)); diff != "" {
		t.Errorf("branch history (-want +got):\n%s", diff)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != c.Hash {
		t.Errorf("branch at %s, want %s", got, c.Hash)
	}
	if s.Status().Counters.Conflicts != 1 {
		t.Errorf("conflicts = %d, want 1", s.Status().Counters.Conflicts)
	}
}

func TestWriteBackGivesUp(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	bare := filepath.Join(root, "repo.git")
	s := newWriteSource(t, "file://"+bare, Config{MaxAttempts: 3})
	base, _ := mustFetch(t, s)
	user := gittest.Clone(t, bare, "Other User")
	rounds := 0
	// Every replan, the user pushes again: the branch never holds still.
	replan := func(_ context.Context, head Commit) (map[string][]byte, string, error) {
		rounds++
		user.CommitAndPush(t, map[string]string{"a": fmt.Sprint(rounds)}, "user")
		return map[string][]byte{".ebb/l.yaml": []byte("l")}, "ebb: l", nil
	}
	user.CommitAndPush(t, map[string]string{"a": "0"}, "user")
	_, _, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/l.yaml": []byte("l")}, "ebb: l", replan)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("WriteBack error = %v, want ErrConflict", err)
	}
	if rounds != 2 {
		t.Errorf("replanned %d times, want 2", rounds)
	}
	for _, subject := range gitLog(t, bare) {
		if strings.HasPrefix(subject, "ebb:") {
			t.Errorf("a ledger commit landed: %q", subject)
		}
	}
}

func TestWriteBackSigned(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	bare := filepath.Join(root, "repo.git")
	key, err := openpgp.NewEntity("ebb", "", "ebb@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newWriteSource(t, bare, Config{SignKey: key})
	base, _ := mustFetch(t, s)
	c, _, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/x.yaml": []byte("x")}, "ebb: x", noReplan)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	w, _ := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := key.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	repo, err := gogit.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	co, err := repo.CommitObject(plumbing.NewHash(c.Hash))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := co.Verify(pub.String()); err != nil {
		t.Errorf("ledger commit signature does not verify: %v", err)
	}
}

// TestWriteBackRace has a user push while ebb writes the ledger back, round
// after round: every commit of both must end up on the branch exactly once.
func TestWriteBackRace(t *testing.T) {
	const rounds = 30
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"apps/a.yaml": "a\n"})
	bare := filepath.Join(root, "repo.git")
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	s := newWriteSource(t, srv.RepoURL("repo.git"), Config{MaxAttempts: 50})
	user := raceUser{gittest.Clone(t, srv.RepoURL("repo.git"), "Other User")}

	ledger := func(i int) (map[string][]byte, string) {
		return map[string][]byte{".ebb/default/a.yaml": []byte(fmt.Sprintf("round: %d\n", i))}, fmt.Sprintf("ebb: ledger round %d", i)
	}
	for i := range rounds {
		// ebb reads the branch, then the user commits and pushes while ebb
		// writes back: in even rounds ebb pushes only after the user's push
		// (a certain conflict), in odd rounds both push at once.
		base, _, err := s.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ready, pushed := make(chan struct{}), make(chan error, 1)
		go func() {
			err := user.Commit(i)
			close(ready)
			if err == nil {
				err = user.PushRebasing(50)
			}
			pushed <- err
		}()
		<-ready
		var userErr error
		if i%2 == 0 {
			userErr = <-pushed
		}
		files, msg := ledger(i)
		replan := func(_ context.Context, head Commit) (map[string][]byte, string, error) {
			f, m := ledger(i)
			return f, m, nil
		}
		if _, _, err := s.WriteBack(context.Background(), base, files, msg, replan); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if i%2 == 1 {
			userErr = <-pushed
		}
		if userErr != nil {
			t.Fatalf("round %d: user: %v", i, userErr)
		}
	}

	count := map[string]int{}
	for _, subject := range gitLog(t, bare) {
		count[subject]++
	}
	for i := range rounds {
		for _, subject := range []string{fmt.Sprintf("user round %d", i), fmt.Sprintf("ebb: ledger round %d", i)} {
			if count[subject] != 1 {
				t.Errorf("%q is on the branch %d times, want once", subject, count[subject])
			}
		}
	}
	if got := gittest.Run(t, bare, "show", "main:.ebb/default/a.yaml"); got != fmt.Sprintf("round: %d", rounds-1) {
		t.Errorf("ledger at the end = %q", got)
	}
	for i := range rounds {
		if got := gittest.Run(t, bare, "cat-file", "-t", fmt.Sprintf("main:apps/u%02d.yaml", i)); got != "blob" {
			t.Errorf("user file %d missing", i)
		}
	}
	gittest.Run(t, bare, "fsck", "--no-progress")
	conflicts := s.Status().Counters.Conflicts
	if conflicts < rounds/2 {
		t.Errorf("%d conflicts, want at least %d (every even round)", conflicts, rounds/2)
	}
	t.Logf("%d rounds: %d write-back conflicts, %d commits on the branch", rounds, conflicts, len(gitLog(t, bare)))
}

// raceUser is the other user of TestWriteBackRace.
type raceUser struct{ *gittest.Client }

// Commit brings the clone up to date and commits a file of round i.
func (u raceUser) Commit(i int) error {
	if _, err := u.Git("pull", "-q", "--rebase", "origin", "main"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(u.Dir, "apps", fmt.Sprintf("u%02d.yaml", i)), []byte("u\n"), 0o644); err != nil {
		return err
	}
	if _, err := u.Git("add", "-A"); err != nil {
		return err
	}
	_, err := u.Git("commit", "-q", "-m", fmt.Sprintf("user round %d", i))
	return err
}

// TestWriteBackSSHSigned: git itself verifies the SSH signature.
func TestWriteBackSSHSigned(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("EBB_FULL_TEST") == "1" {
			t.Fatalf("ssh-keygen is required (EBB_FULL_TEST=1): %v", err)
		}
		t.Skip("ssh-keygen not installed")
	}
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a": "a"})
	bare := filepath.Join(root, "repo.git")
	pemKey, key := gittest.NewKey(t)
	signer, err := NewSSHSigner(pemKey, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newWriteSource(t, bare, Config{Signer: signer})
	base, _ := mustFetch(t, s)
	c, _, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/x.yaml": []byte("x")}, "ebb: x", noReplan)
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	line := "ebb@example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey()))) + "\n"
	if err := os.WriteFile(allowed, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := gittest.RunErr(bare, gittest.Env("v", "v@example.com"),
		"-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", "-v", c.Hash)
	if err != nil {
		t.Fatalf("git verify-commit: %v %s", err, out)
	}
}
