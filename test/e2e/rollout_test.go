package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUpCanarySteered: in the work tree ebb up serves, `ebb rollout
// abort` of a canary at 20 % commits the rollback as the user and asks
// ebb up to sync, which sends every request to the stable revision at
// once and keeps it there; `ebb rollout promote` of the next canary gives
// it every request. The interval is an hour: only the commands move the
// traffic.
func TestUpCanarySteered(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	keys := "    canary.ebb.dev/step-weight: \"20\"\n    canary.ebb.dev/max-weight: \"40\"\n"
	dir := canaryRepo(t, "1h", keys)
	git(t, dir, "config", "user.name", "carol")
	git(t, dir, "config", "user.email", "carol@example.com")
	u := startUp(t, dir)
	eventually(t, "web-00001 serving", 2*time.Minute, func() string {
		if code, body, err := u.get(canaryMain); err != nil || code != 200 || body != "v1\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	rec := record(u, canaryMain)
	defer rec.finish()
	ebb := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ebbBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ebb %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// only waits until every answer of the last second is body.
	only := func(body string) {
		t.Helper()
		eventually(t, "every answer from "+body, 30*time.Second, func() string {
			a := rec.since(time.Now().Add(-time.Second))
			if len(a) < 10 {
				return fmt.Sprint(a)
			}
			for _, x := range a {
				if x.code != 200 || x.body != body {
					return fmt.Sprint(a)
				}
			}
			return ""
		})
	}

	writeFile(t, filepath.Join(dir, "service.yaml"), canaryWeb("1h", keys, "v2", 0))
	userCommit(t, dir, "web: v2")
	waitSubject(t, dir, 2*time.Minute, "default/web: canary web-00002 0% -> 20% (ready)")
	eventually(t, "web-00002 answering", 30*time.Second, func() string {
		for _, a := range rec.since(time.Now().Add(-2 * time.Second)) {
			if a.body == "v2" {
				return ""
			}
		}
		return "no answer from v2"
	})
	if out := ebb("rollout", "status", "web", "--admin", u.admin); !strings.HasPrefix(out, "default/web: web-00002 20% Progressing\n") {
		t.Errorf("ebb rollout status --admin:\n%s", out)
	}
	out := ebb("rollout", "abort", "web", "--dir", dir, "--admin", u.admin)
	t.Logf("ebb rollout abort web:\n%s", out)
	if !strings.Contains(out, "ebb: default/web: rollback web-00002: aborted by carol\n") || !strings.HasSuffix(out, "ebb: the ebb up at "+u.admin+" syncs now\n") {
		t.Errorf("ebb rollout abort:\n%s", out)
	}
	aborted := time.Now()
	only("v1")
	t.Logf("every answer from web-00001 %v after the abort", time.Since(aborted).Round(time.Millisecond))
	if got := strings.TrimSpace(git(t, dir, "log", "-1", "--format=%an|%s", "--author=carol")); got != "carol|ebb: default/web: rollback web-00002: aborted by carol" {
		t.Errorf("the user's ledger commit: %q", got)
	}
	if out := ebb("rollout", "status", "web", "--admin", u.admin); !strings.HasPrefix(out, "default/web: web-00002 RolledBack: aborted by carol\n") {
		t.Errorf("ebb rollout status --admin after the abort:\n%s", out)
	}
	if out := ebb("get", "revisions", "--admin", u.admin); !strings.Contains(out, "failed") {
		t.Errorf("ebb get revisions after the abort:\n%s", out)
	}

	writeFile(t, filepath.Join(dir, "service.yaml"), canaryWeb("1h", keys, "v3", 0))
	userCommit(t, dir, "web: v3")
	waitSubject(t, dir, 2*time.Minute, "default/web: canary web-00003 0% -> 20% (ready)")
	out = ebb("rollout", "promote", "web", "--dir", dir, "--admin", u.admin)
	t.Logf("ebb rollout promote web:\n%s", out)
	only("v3")
	if got := strings.TrimSpace(git(t, dir, "log", "-1", "--format=%an|%s", "--author=carol")); got != "carol|ebb: default/web: promote web-00003 (by carol)" {
		t.Errorf("the user's ledger commit: %q", got)
	}
	t.Logf("commits:\n%s", git(t, dir, "log", "--reverse", "--format=%an %s"))
}
