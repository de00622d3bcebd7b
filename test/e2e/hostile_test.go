package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// rss reads a process's resident set (VmRSS) and its peak since the peak
// was last reset (VmHWM), in KiB.
func rss(t *testing.T, pid int) (now, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			now = n
		case "VmHWM":
			peak = n
		}
	}
	return now, peak
}

// TestUpGitHostilePreview: a preview branch that adds a 50 MB YAML file
// (one long string, a few hundred KiB compressed) is refused with the
// file and the limit, the main URL keeps serving, and ebb's resident set
// stays within twice what it was idle before the push. The figures are
// logged for docs/benchmarks.md.
func TestUpGitHostilePreview(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	url, _ := servingRepo(t)
	u := startUpGit(t, url, "--preview", "refs/heads/preview/*")
	pid := u.cmd.Process.Pid
	const host, world = "hello.default.svc.cluster.local", "Hello World!\n"
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		if code, body, err := u.get(host); err != nil || code != 200 || body != world {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	eventually(t, "the first ledger commit applied", time.Minute, func() string {
		if st := u.source(t); st.WriteBacks != 1 || st.Applied == "" {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})

	// Idle: the mean of five samples, a second apart.
	var idle int64
	for range 5 {
		now, _ := rss(t, pid)
		idle += now / 5
		time.Sleep(time.Second)
	}

	user := gittest.Clone(t, url, "mallory")
	if out, err := user.Git("checkout", "-q", "-b", "preview/hostile"); err != nil {
		t.Fatal(err, out)
	}
	big := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  big: " + strings.Repeat("x", 50_000_000) + "\n"
	user.Commit(t, map[string]string{"apps/big.yaml": big, "apps/hello/service.yaml": canaryService("Mallory", "")}, "a big file")
	big = ""
	if out, err := user.Git("push", "-q", "origin", "preview/hostile"); err != nil {
		t.Fatal(err, out)
	}
	// The peak from here on: VmHWM reset (root may; else the sampled
	// maximum alone), and sampled every 20 ms.
	resetPeak := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	var sampled atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if now, _ := rss(t, pid); now > sampled.Load() {
				sampled.Store(now)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	u.kick(t, "refs/heads/preview/hostile")
	const refusal = "apps/big.yaml: 47.7 MiB, over the 4 MiB file limit"
	eventually(t, "the preview refused", 2*time.Minute, func() string {
		st := u.source(t)
		if len(st.Previews) != 1 || st.Previews[0].Error != refusal {
			return fmt.Sprintf("%+v", st.Previews)
		}
		return ""
	})
	close(stop)
	<-done
	_, hwm := rss(t, pid)
	peak := sampled.Load()
	if resetPeak {
		peak = max(peak, hwm)
	}
	if out, err := exec.Command(ebbBin, "get", "sources", "--admin", u.admin).Output(); err != nil || !strings.Contains(string(out), refusal) {
		t.Errorf("ebb get sources: %v\n%s", err, out)
	}
	if !strings.Contains(u.errOut(), "ebb: preview refs/heads/preview/hostile: "+refusal) {
		t.Errorf("stderr does not report the refusal:\n%s", u.errOut())
	}
	if counts := u.split(t, host, 50); counts[world] != 50 {
		t.Errorf("main URL after the hostile preview: %v", counts)
	}
	var after []int64
	for range 5 {
		time.Sleep(time.Second)
		now, _ := rss(t, pid)
		after = append(after, now)
		if now > 2*idle {
			t.Errorf("RSS %d KiB after the hostile preview, over twice the idle %d KiB", now, idle)
		}
	}
	t.Logf("RSS of ebb up: idle %.1f MiB, peak %.1f MiB (VmHWM reset: %v), after %v KiB", float64(idle)/1024, float64(peak)/1024, resetPeak, after)
}
