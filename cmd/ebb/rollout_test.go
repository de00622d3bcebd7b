//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

// webService is an analysed Service: steps of 20 up to 40, two failed
// checks roll it back.
const webService = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
  annotations: {canary.ebb.dev/interval: 2s, canary.ebb.dev/step-weight: "20", canary.ebb.dev/max-weight: "40", canary.ebb.dev/threshold: "2"}
spec: {template: {spec: {containers: [{image: registry.example.com/web:%d}]}}}
`

// canaryTree makes dir hold web at two templates as a user commits them,
// and ebb's ledger commits of each as ebb up makes them (a Pipeline
// writing to the work tree) with every revision seen ready: web-00002
// rolls out at 20% against web-00001. In a Git work tree (git), alice
// is the user. It returns the pipeline, to plan the directory again.
func canaryTree(t *testing.T, dir string, git bool) *engine.Pipeline {
	t.Helper()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var writer engine.LedgerWriter = engine.DirWriter{Dir: dir}
	if git {
		gittest.Run(t, dir, "init", "-q", "-b", gittest.Branch)
		gittest.Run(t, dir, "config", "user.name", "alice")
		gittest.Run(t, dir, "config", "user.email", "alice@example.com")
		writer = engine.WorktreeWriter{Dir: dir}
	}
	rec := &engine.Pipeline{Writer: writer, Observe: func() serving.Observed {
		return serving.Observed{Ready: func(string, string) bool { return true }, Now: t0, Since: t0}
	}}
	for v := 1; v <= 2; v++ {
		gittest.WriteFiles(t, dir, map[string]string{"web.yaml": fmt.Sprintf(webService, v)})
		if git {
			gittest.Run(t, dir, "add", "web.yaml")
			gittest.Run(t, dir, "commit", "-q", "-m", fmt.Sprintf("web: v%d", v))
		}
		reconcile(t, rec, dir)
	}
	return rec
}

// reconcile runs one pass of rec over dir, as ebb up does.
func reconcile(t *testing.T, rec *engine.Pipeline, dir string) *engine.Result {
	t.Helper()
	root, err := engine.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	res, err := rec.Pass(t.Context(), root, engine.DirStamp(dir, time.Now()), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readLedger reads web's ledger file: HEAD's in a Git work tree, else the
// directory's.
func readLedger(t *testing.T, dir string, git bool) *serving.Ledger {
	t.Helper()
	file := serving.LedgerPath("default", "web")
	var b []byte
	if git {
		b = []byte(gittest.Run(t, dir, "show", "HEAD:"+file) + "\n")
	} else {
		var err error
		if b, err = os.ReadFile(filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := serving.UnmarshalLedger(file, b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func rollout(t *testing.T, getenv map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return getenv[k] }}
	code := run(t.Context(), append([]string{"rollout"}, args...), e)
	return code, out.String(), errb.String()
}

// TestRolloutSteer: `ebb rollout abort|promote web` in a Git work tree
// makes one commit, by the git user, touching only web's ledger file and
// leaving what the user staged staged; the ledger then holds the decision
// and the traffic it resolves to, which ebb's next pass keeps. In a plain
// directory the file is written, by $USER.
func TestRolloutSteer(t *testing.T) {
	gittest.GitPath(t)
	t.Setenv("HOME", t.TempDir()) // no global git configuration
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, tc := range []struct {
		name, action string
		git          bool
		out          []string
		subject      string
		phase        canary.Phase
		reason       string
		traffic      string
	}{
		{name: "abort", action: "abort", git: true,
			out:     []string{"ebb: default/web: rollback web-00002: aborted by alice", "ebb: default/web: web-00001 at 100% (latestRevision)"},
			subject: "alice|alice@example.com|ebb: default/web: rollback web-00002: aborted by alice",
			phase:   canary.RolledBack, reason: "aborted by alice", traffic: "web-00001 at 100% (latestRevision)"},
		{name: "promote", action: "promote", git: true,
			out: []string{"ebb: default/web: promote web-00002 (by alice)", "ebb: default/web: web-00002 at 100% (latestRevision)",
				"ebb: default/web: revision web-00001 retired (no traffic, no tag)"},
			subject: "alice|alice@example.com|ebb: default/web: promote web-00002 (by alice)",
			phase:   canary.Promoted, reason: "promoted by alice", traffic: "web-00002 at 100% (latestRevision)"},
		{name: "abort in a plain directory", action: "abort",
			out:   []string{"ebb: default/web: rollback web-00002: aborted by carol", "ebb: default/web: web-00001 at 100% (latestRevision)", "ebb: wrote .ebb/default/web.yaml"},
			phase: canary.RolledBack, reason: "aborted by carol", traffic: "web-00001 at 100% (latestRevision)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rec := canaryTree(t, dir, tc.git)
			if r := readLedger(t, dir, tc.git).Rollout; r == nil || r.Phase != canary.Progressing || r.Weight != 20 {
				t.Fatalf("the rollout before: %+v", r)
			}
			var before string
			if tc.git {
				// What the user has staged and edited stays so.
				gittest.WriteFiles(t, dir, map[string]string{"README.md": "staged\n", "notes.txt": "not staged\n"})
				gittest.Run(t, dir, "add", "README.md")
				before = gittest.Run(t, dir, "rev-parse", "HEAD")
			}
			env := map[string]string{"USER": "carol"}
			code, out, stderr := rollout(t, env, tc.action, "web", "--dir", dir)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if tc.git {
				head := gittest.Run(t, dir, "rev-parse", "HEAD")
				if want := fmt.Sprintf("ebb: committed %s to .ebb/default/web.yaml; push it for a cluster's ebb to follow (git push)", short(head)); lines[len(lines)-1] != want {
					t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
				}
				lines = lines[:len(lines)-1]
				if got := gittest.Run(t, dir, "log", "-1", "--format=%an|%ae|%s"); got != tc.subject {
					t.Errorf("commit %q, want %q", got, tc.subject)
				}
				if got := gittest.Run(t, dir, "rev-parse", "HEAD~1"); got != before {
					t.Errorf("the commit's parent is %s, want HEAD before, %s", got, before)
				}
				if got := gittest.Run(t, dir, "show", "--name-only", "--format=", "HEAD"); got != ".ebb/default/web.yaml" {
					t.Errorf("the commit touches %q", got)
				}
				if got := gittest.Run(t, dir, "status", "--porcelain"); got != "A  README.md\n?? notes.txt" {
					t.Errorf("git status after:\n%s", got)
				}
			}
			if diff := cmp.Diff(tc.out, lines); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			l := readLedger(t, dir, tc.git)
			if r := l.Rollout; r.Phase != tc.phase || r.Reason != tc.reason {
				t.Errorf("rollout %+v, want %s: %s", r, tc.phase, tc.reason)
			}
			if got := serving.FormatTraffic(l.Traffic); got != tc.traffic {
				t.Errorf("traffic %s, want %s", got, tc.traffic)
			}
			if failed := l.Revisions[1].Failed != nil; failed != (tc.phase == canary.RolledBack) {
				t.Errorf("web-00002 failed: %v", failed)
			}
			// ebb's next pass over the directory keeps the decision.
			res := reconcile(t, rec, dir)
			if len(res.Changes) > 0 {
				t.Errorf("ebb's next pass changed the ledger: %v", res.Changes)
			}
			if got := res.Desired.Ledgers[0]; got.Rollout.Phase != tc.phase || serving.FormatTraffic(got.Traffic) != tc.traffic {
				t.Errorf("ebb's next pass planned %s, %s", got.Rollout.Phase, serving.FormatTraffic(got.Traffic))
			}
			code, out, _ = rollout(t, env, "status", "web", "--dir", dir)
			if first, _, _ := strings.Cut(out, "\n"); code != exitOK || first != "default/web: web-00002 "+string(tc.phase)+map[canary.Phase]string{canary.RolledBack: ": " + tc.reason}[tc.phase] {
				t.Errorf("status after: exit %d\n%s", code, out)
			}
			// Over: a second decision is refused, and commits nothing.
			head := ""
			if tc.git {
				head = gittest.Run(t, dir, "rev-parse", "HEAD")
			}
			code, _, stderr = rollout(t, env, tc.action, "web", "--dir", dir)
			if code != exitInvalid || !strings.Contains(stderr, "default/web: no rollout in progress (canary web-00002 ended "+string(tc.phase)+": "+tc.reason+")") {
				t.Errorf("steering again: exit %d: %s", code, stderr)
			}
			if tc.git && gittest.Run(t, dir, "rev-parse", "HEAD") != head {
				t.Error("a refused decision committed")
			}
		})
	}
}

// TestRolloutRefused: a ledger file edited in the work tree, a Service
// with no ledger, and usage errors.
func TestRolloutRefused(t *testing.T) {
	gittest.GitPath(t)
	dir := t.TempDir()
	canaryTree(t, dir, true)
	file := filepath.Join(dir, ".ebb", "default", "web.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(b, "# edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	head := gittest.Run(t, dir, "rev-parse", "HEAD")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"abort", "web", "--dir", dir}, exitInvalid,
			"ebb rollout abort: .ebb/default/web.yaml in the work tree is not HEAD's (ebb may have committed meanwhile, or it was edited): commit or restore it, then run this again: " +
				"commit .ebb/default/web.yaml: HEAD's ledger file is not the one planned from\n"},
		{[]string{"status", "api", "--dir", dir}, exitInvalid,
			"ebb rollout status: default/api: no ledger in " + dir + " (.ebb/default/api.yaml): has ebb planned the Service?\n"},
		{[]string{"promote", "api", "-n", "other", "--dir", dir}, exitInvalid, "ebb rollout promote: other/api: no such Service in the repository\n"},
		{[]string{"pause", "web"}, exitUsage, `ebb rollout: unknown action "pause": want status, promote or abort`},
		{[]string{"abort"}, exitUsage, "ebb rollout: want an action and a SERVICE, got 1 arguments"},
		{[]string{"abort", "web", "-o", "yaml"}, exitUsage, "ebb rollout: -o is for status"},
		{[]string{"abort", "web", "--dir", file}, exitUsage, "ebb rollout abort: " + file + " is not a directory\n"},
	} {
		code, _, stderr := rollout(t, nil, tc.args...)
		if code != tc.code || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("ebb rollout %v: exit %d: %s\nwant exit %d: %s", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if gittest.Run(t, dir, "rev-parse", "HEAD") != head {
		t.Error("a refused decision committed")
	}
	if got, _ := os.ReadFile(file); !bytes.HasSuffix(got, []byte("# edited\n")) {
		t.Error("a refused decision wrote the ledger file")
	}
}

// TestRolloutUp: against a running ebb up, status reads its admin
// server, and a decision asks it to engine.
func TestRolloutUp(t *testing.T) {
	gittest.GitPath(t)
	dir := t.TempDir()
	rec := canaryTree(t, dir, true)
	u, err := newUp(dir, &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.runtime.Close)
	d := reconcile(t, rec, dir).Desired
	u.planned, u.applied = func() *engine.Desired { return d }, func() *engine.Desired { return d }
	mux, err := u.adminHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := admin.NewLocalServer(l.Addr(), mux)
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("admin server: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	addr := l.Addr().String()
	env := map[string]string{"XDG_RUNTIME_DIR": t.TempDir()}
	path, err := admin.TokenPath(func(k string) string { return env[k] }, l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteToken(path, u.token); err != nil {
		t.Fatal(err)
	}

	code, out, stderr := rollout(t, env, "status", "web", "--admin", addr)
	if first, _, _ := strings.Cut(out, "\n"); code != exitOK || first != "default/web: web-00002 20% Progressing" {
		t.Errorf("status --admin: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = rollout(t, env, "status", "web", "--admin", addr, "-o", "yaml")
	if code != exitOK || !strings.Contains(out, "phase: Progressing\n") || !strings.Contains(out, "threshold: 2\n") {
		t.Errorf("status --admin -o yaml: exit %d: %s%s", code, out, stderr)
	}
	code, out, stderr = rollout(t, env, "abort", "web", "--dir", dir, "--admin", addr)
	if code != exitOK || !strings.HasSuffix(out, "ebb: the ebb up at "+addr+" syncs now\n") {
		t.Errorf("abort: exit %d: %s%s", code, out, stderr)
	}
	select {
	case <-u.kicks:
	default:
		t.Error("the ebb up was not asked to sync")
	}
	code, _, stderr = rollout(t, env, "status", "web", "--admin", "127.0.0.1:1", "--dir", dir)
	if code != exitUsage || !strings.Contains(stderr, "--admin reads an ebb up, --dir a repository: give one") {
		t.Errorf("status --admin --dir: exit %d: %s", code, stderr)
	}
}

// TestWriteRollout: what `ebb rollout status` prints.
func TestWriteRollout(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 10, 0, time.UTC)
	next := metav1.NewMicroTime(now.Add(2500 * time.Millisecond))
	r := &engine.RolloutStatus{State: canary.State{Canary: "web-00002", Stable: "web-00001", Phase: canary.Progressing, Weight: 20, FailedChecks: 1,
		Started: metav1.NewTime(now.Add(-10 * time.Second)), NextCheck: &next,
		Last: &canary.Check{Canary: canary.Figures{Requests: 40, Failures: 1, P99: "12ms"}, Stable: canary.Figures{Requests: 160}}},
		Threshold: 2, Interval: "2s"}
	var b strings.Builder
	writeRollout(&b, "default/web", r, now)
	want := `default/web: web-00002 20% Progressing, 1 of 2 checks failed
  phase:          Progressing
  canary:         web-00002 at 20%
  stable:         web-00001
  analysis:       every 2s, rolled back at 2 failed checks
  failed checks:  1 of 2
  last check:     canary 97.5% success (1 of 40 requests failed), p99 12ms; stable 100.0% success (0 of 160 requests failed)
  next check:     2026-12-07T12:00:12Z (in 3s)
  started:        2026-12-07T12:00:00Z (10s ago)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b.Reset()
	r = &engine.RolloutStatus{State: canary.State{Canary: "web-00002", Stable: "web-00001", Phase: canary.RolledBack, FailedChecks: 2,
		Started: metav1.NewTime(now.Add(-time.Hour)), Reason: "success 50.0% < 99%, 2 of 2 checks"}}
	writeRollout(&b, "default/web", r, now)
	want = `default/web: web-00002 RolledBack: success 50.0% < 99%, 2 of 2 checks
  phase:          RolledBack
  canary:         web-00002
  stable:         web-00001
  failed checks:  2
  started:        2026-12-07T11:00:10Z (1h ago)
  reason: success 50.0% < 99%, 2 of 2 checks
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	b.Reset()
	writeRollout(&b, "default/web", nil, now)
	if got := b.String(); got != "default/web: no rollout (it has never rolled out analysed)\n" {
		t.Errorf("no rollout: %q", got)
	}
}
