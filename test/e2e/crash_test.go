//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/syncbuf"
)

// killedKills is how many times TestUpKilledDuringLedgerCommits kills ebb.
const killedKills = 60

// crashService is a Service whose revisions start at zero pods (nothing
// is built or run), so that every edit of N costs one ledger commit and
// nothing else.
func crashService(n int) string {
	return fmt.Sprintf(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - image: sleeper
          command: ["/bin/sleep", "3600"]
          env:
            - name: N
              value: "%d"
`, n)
}

const zeroInitialScale = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: ebb-system
data:
  allow-zero-initial-scale: "true"
`

// killable is an `ebb up` in a process group of its own, killed with
// SIGKILL, never stopped.
type killable struct {
	cmd *exec.Cmd
	out syncbuf.Buffer
}

func startKillable(t *testing.T, dir string) *killable {
	t.Helper()
	k := &killable{cmd: exec.Command(ebbBin, "up", dir, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0")}
	k.cmd.Stdout, k.cmd.Stderr = &k.out, &k.out
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.kill)
	return k
}

// kill sends SIGKILL to the process group and waits for ebb.
func (k *killable) kill() {
	if k.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	_ = k.cmd.Wait()
}

// gitOK runs git in dir and reports its output and whether it succeeded.
func gitOK(dir string, args ...string) (string, bool) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// usersStaging is what the user has staged outside the ledger.
func usersStaging(t *testing.T, dir string) string {
	t.Helper()
	return git(t, dir, "ls-files", "--stage", "--", ".", ":!.ebb") + git(t, dir, "diff", "--cached", "--", ".", ":!.ebb")
}

// TestUpKilledDuringLedgerCommits kills `ebb up DIR` with SIGKILL during
// ledger commits, again and again, on a work tree whose user has staged
// an added file, an edited file and a deletion. After every kill git
// works and the staging is untouched; after every restart ebb commits
// again; at the end git fsck --full is clean and the branch is the
// user's commit with ebb's ledger commits on top, each changing only
// .ebb/.
func TestUpKilledDuringLedgerCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	svc := filepath.Join(dir, "service.yaml")
	writeFile(t, svc, crashService(0))
	writeFile(t, filepath.Join(dir, "config-autoscaler.yaml"), zeroInitialScale)
	writeFile(t, filepath.Join(dir, "notes.txt"), "v1\n")
	writeFile(t, filepath.Join(dir, "gone.txt"), "bye\n")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "user: first")
	userHead := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	writeFile(t, filepath.Join(dir, "notes.txt"), "v2, staged\n")
	writeFile(t, filepath.Join(dir, "added.txt"), "new, staged\n")
	git(t, dir, "add", "notes.txt", "added.txt")
	git(t, dir, "rm", "-q", "gone.txt")
	staged := usersStaging(t, dir)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ref := filepath.Join(dir, ".git", "refs", "heads", "main")
	locks := filepath.Join(dir, ".git", "ebb-locks")
	readRef := func() string { b, _ := os.ReadFile(ref); return string(b) }
	n := 0
	edit := func() {
		n++
		writeFile(t, svc, crashService(n))
	}
	// committed waits until main's ledger holds revision n's template.
	committed := func(k *killable, what string) {
		t.Helper()
		want := fmt.Sprintf("value: \"%d\"", n)
		last := ""
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if r := readRef(); r != last {
				last = r
				if out, _ := gitOK(dir, "show", "main:.ebb/default/hello.yaml"); strings.Contains(out, want) {
					return
				}
			}
		}
		t.Fatalf("%s: main's ledger never held N=%d\nebb said:\n%s", what, n, k.out.String())
	}
	var hits struct{ lockLeft, uncommitted, staleIndex int }
	start := time.Now()
	var k *killable
	for kill := 1; ; kill++ {
		// An edit while ebb is down: its first pass commits it.
		edit()
		k = startKillable(t, dir)
		committed(k, fmt.Sprintf("restart %d", kill))
		if kill > killedKills {
			break
		}
		// The next edit's commit comes after the watcher's 200 ms: kill
		// ebb in it, right after the branch moves, while it holds a lock,
		// or at a random moment.
		moved := readRef()
		edit()
		deadline := time.Now().Add(10 * time.Second)
		switch kill % 3 {
		case 0:
			for readRef() == moved && time.Now().Before(deadline) {
			}
		case 1:
			for time.Now().Before(deadline) {
				if held, _ := os.ReadDir(locks); len(held) > 0 {
					break
				}
			}
		default:
			time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
		}
		k.kill()

		// What the kill interrupted, for the log.
		if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); err == nil {
			hits.lockLeft++
		} else if _, err := os.Stat(ref + ".lock"); err == nil {
			hits.lockLeft++
		}
		if _, ok := gitOK(dir, "diff", "--quiet", "HEAD", "--", ".ebb"); !ok {
			hits.uncommitted++
		}
		if _, ok := gitOK(dir, "diff", "--cached", "--quiet", "--", ".ebb"); !ok {
			hits.staleIndex++
		}
		if out, ok := gitOK(dir, "status", "--porcelain"); !ok {
			t.Fatalf("kill %d: git status fails:\n%s\nebb said:\n%s", kill, out, k.out.String())
		}
		if got := usersStaging(t, dir); got != staged {
			t.Fatalf("kill %d: the user's staging changed:\n%s\nwant\n%s", kill, got, staged)
		}
		if kill%20 == 0 {
			if out, ok := gitOK(dir, "fsck", "--full", "--strict", "--no-dangling"); !ok || out != "" {
				t.Fatalf("kill %d: git fsck:\n%s", kill, out)
			}
		}
	}
	t.Logf("%d kills in %v: %d left a lock file, %d left ledger files uncommitted, %d left the index's ledger entries behind",
		killedKills, time.Since(start).Round(time.Millisecond), hits.lockLeft, hits.uncommitted, hits.staleIndex)
	if hits.lockLeft+hits.uncommitted+hits.staleIndex == 0 {
		t.Error("no kill landed inside a ledger commit")
	}

	// The last run, past its recovery, leaves a clean ledger and stops.
	eventually(t, "a clean ledger in git status", 30*time.Second, func() string {
		if out, _ := gitOK(dir, "status", "--porcelain", "--", ".ebb"); out != "" {
			return out
		}
		return ""
	})
	_ = k.cmd.Process.Signal(syscall.SIGINT)
	if err := k.cmd.Wait(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatal(err)
	}
	if out, ok := gitOK(dir, "fsck", "--full", "--strict", "--no-dangling"); !ok || out != "" {
		t.Errorf("git fsck:\n%s", out)
	}
	if got := usersStaging(t, dir); got != staged {
		t.Errorf("the user's staging changed:\n%s\nwant\n%s", got, staged)
	}
	if left, _ := os.ReadDir(locks); len(left) != 0 {
		t.Errorf("lock markers left: %v", left)
	}
	if merges := strings.TrimSpace(git(t, dir, "rev-list", "--merges", "main")); merges != "" {
		t.Errorf("merges on main: %s", merges)
	}
	git(t, dir, "merge-base", "--is-ancestor", userHead, "main")
	ebbCommits := strings.Fields(git(t, dir, "rev-list", userHead+"..main"))
	if len(ebbCommits) < killedKills {
		t.Errorf("%d ledger commits on top of the user's, want at least %d", len(ebbCommits), killedKills)
	}
	for _, c := range ebbCommits {
		if who := strings.TrimSpace(git(t, dir, "log", "-1", "--format=%an", c)); who != "ebb" {
			t.Errorf("commit %s by %s on top of the user's", c, who)
		}
		for _, p := range strings.Fields(git(t, dir, "diff-tree", "--no-commit-id", "--name-only", "-r", c)) {
			if !strings.HasPrefix(p, ".ebb/") {
				t.Errorf("ledger commit %s changes %s", c, p)
			}
		}
	}
}
