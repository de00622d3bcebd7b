package gitdir

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// holdEnv names the work tree in which TestHelperHoldLocks, run as a
// process of its own, takes the index's and main's lock files and waits
// to be killed.
const holdEnv = "EBB_GITDIR_HOLD"

func TestHelperHoldLocks(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		t.Skip("the process TestRecover kills")
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{r.IndexPath(), r.refPath("refs/heads/main")} {
		l, err := r.lock(target)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.f.Write([]byte("half")); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("held")
	select {}
}

// TestRecover: the lock files of a live ebb are left alone; once it is
// killed, the next Recover removes them and the repository takes commits
// again. A lock file git holds is never removed, whatever markers say.
func TestRecover(t *testing.T) {
	r := stagedRepo(t)
	view := userView(t, r)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLocks$")
	cmd.Env = append(os.Environ(), holdEnv+"="+r.Worktree)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
		t.Fatalf("helper said %q", line)
	}
	locks := []string{r.IndexPath() + ".lock", r.refPath("refs/heads/main") + ".lock"}

	done, err := r.Recover()
	if err != nil || len(done) != 0 {
		t.Fatalf("Recover with the holder alive: %v, %v", done, err)
	}
	for _, l := range locks {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("a live holder's lock went: %v", err)
		}
	}

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// Beside them: git's own lock on another branch, with a marker of an
	// ebb that lost the race for it and died before removing the marker,
	// and a temporary object go-git was writing.
	gittest.Run(t, r.Worktree, "branch", "side")
	gitLock := r.refPath("refs/heads/side") + ".lock"
	if err := os.WriteFile(gitLock, []byte("git's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(r.CommonDir, gitLock)
	lost := filepath.Join(r.CommonDir, lockDir, "1-00000000."+url.PathEscape(filepath.ToSlash(rel)))
	tmpObj := filepath.Join(r.CommonDir, "objects", "pack", "tmp_obj_123")
	for _, p := range []string{lost, tmpObj} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	done, err = r.Recover()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"removed the half-written object " + tmpObj,
		"removed the lock file " + locks[0] + " a stopped ebb held",
		"removed the lock file " + locks[1] + " a stopped ebb held",
	}
	slices.Sort(done)
	if d := cmp.Diff(want, done); d != "" {
		t.Errorf("Recover (-want +got):\n%s", d)
	}
	for _, p := range append(locks, lost, tmpObj) {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	if b, err := os.ReadFile(gitLock); err != nil || string(b) != "git's\n" {
		t.Errorf("git's lock is now %q, %v", b, err)
	}
	if left, _ := os.ReadDir(filepath.Join(r.CommonDir, lockDir)); len(left) != 0 {
		t.Errorf("markers left: %v", left)
	}
	if d := cmp.Diff(view, userView(t, r)); d != "" {
		t.Errorf("git's view of the index (-before +after):\n%s", d)
	}
	gittest.Run(t, r.Worktree, "commit", "-q", "-m", "the user commits again")
	if out := gittest.Run(t, r.Worktree, "fsck", "--full", "--strict", "--no-dangling"); out != "" {
		t.Errorf("git fsck: %s", out)
	}
}
