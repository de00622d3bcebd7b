package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/serving"
)

func helloService(target, traffic string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ko://example.com/hello
          env:
            - name: TARGET
              value: ` + target + "\n" + traffic
}

const canary10 = `  traffic:
    - revisionName: hello-00001
      percent: 90
    - latestRevision: true
      percent: 10
`

// recorder is a Target that keeps what it was asked to apply.
type recorder struct {
	mu      gosync.Mutex
	applied []*Desired
}

func (r *recorder) Apply(_ context.Context, d *Desired) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, d)
	return nil
}

func (r *recorder) last(t *testing.T) *Desired {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		t.Fatal("nothing applied")
	}
	return r.applied[len(r.applied)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.applied)
}

type loopFixture struct {
	bare   string
	url    string
	user   *gittest.Client
	src    *git.Source
	target *recorder
	loop   *Loop
	reg    *prometheus.Registry
}

func newLoopFixture(t *testing.T, readOnly bool) *loopFixture {
	t.Helper()
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"service.yaml": helloService("World", "")})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	f := &loopFixture{bare: filepath.Join(root, "repo.git"), url: srv.RepoURL("repo.git"), target: &recorder{}, reg: prometheus.NewRegistry()}
	var err error
	f.src, err = git.New(git.Config{URL: f.url, Ref: git.Ref{Branch: "main"}, CacheDir: t.TempDir(),
		Author: git.Signature{Name: "ebb", Email: "ebb@example.com"}, Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	f.loop = &Loop{Source: f.src, Target: f.target, ReadOnly: readOnly, Metrics: m}
	f.user = gittest.Clone(t, f.url, "alice")
	return f
}

// ledger reads the ledger of hello on the remote branch.
func (f *loopFixture) ledger(t *testing.T) *serving.Ledger {
	t.Helper()
	out := gittest.Run(t, f.bare, "show", "main:.ebb/default/hello.yaml")
	l, err := serving.UnmarshalLedger(".ebb/default/hello.yaml", []byte(out+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *loopFixture) pull(t *testing.T) {
	t.Helper()
	if out, err := f.user.Git("pull", "--rebase", "--quiet"); err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
}

func formatTraffic(l *serving.Ledger) string { return serving.FormatTraffic(l.Traffic) }

func TestLoopWritesLedgerBackAndFollows(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx := context.Background()
	p := f.loop.Sync(ctx)
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	if p.Wrote == "" || p.Commit != p.Wrote {
		t.Fatalf("first pass wrote %q, applied %q: want the ledger commit applied", p.Wrote, p.Commit)
	}
	if got := gittest.Run(t, f.bare, "log", "-1", "--format=%an|%s", "main"); got != "ebb|ebb: new revision hello-00001 (and 1 more)" {
		t.Errorf("ledger commit = %q", got)
	}
	if d := f.target.last(t); d.At.Commit != p.Wrote {
		t.Errorf("applied at %s, want the ledger commit %s", d.At.Commit, p.Wrote)
	}
	// Nothing moved: nothing is planned or applied again.
	if p := f.loop.Sync(ctx); p.Err != nil || p.Commit != "" || f.target.count() != 1 {
		t.Fatalf("idle pass = %+v, %d applies", p, f.target.count())
	}

	// A canary commit: a new revision at 10%, pushed as a ledger commit on
	// top of the user's.
	f.pull(t)
	user := f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", canary10)}, "hello: canary 10%")
	p = f.loop.Sync(ctx)
	if p.Err != nil || p.Wrote == "" {
		t.Fatalf("canary pass = %+v", p)
	}
	if parent := gittest.Run(t, f.bare, "rev-parse", p.Wrote+"^"); parent != user {
		t.Errorf("ledger commit's parent %s, want the user commit %s", parent, user)
	}
	l := f.ledger(t)
	if diff := cmp.Diff("hello-00001 at 90%, hello-00002 at 10% (latestRevision)", formatTraffic(l)); diff != "" {
		t.Errorf("traffic (-want +got):\n%s", diff)
	}
	if got := f.target.last(t).Ledgers[0].Latest; got != "hello-00002" {
		t.Errorf("applied latest %s, want hello-00002", got)
	}
	st := f.loop.Status()
	if st.Applied != p.Wrote || st.Fetched != p.Wrote || st.LastError != "" || st.WriteBacks != 2 {
		t.Errorf("status = %+v", st)
	}
	if n := testutil.ToFloat64(f.loop.Metrics.writeBacks.WithLabelValues("main")); n != 2 {
		t.Errorf("ebb_sync_write_backs_total = %v, want 2", n)
	}
	if err := f.reg.Register(SourceCollector{Name: "main", Source: f.src}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP ebb_sync_fetch_errors_total Failed fetches of the source.
# TYPE ebb_sync_fetch_errors_total counter
ebb_sync_fetch_errors_total{source="main"} 0
# HELP ebb_sync_fetches_total Fetches of the source.
# TYPE ebb_sync_fetches_total counter
ebb_sync_fetches_total{source="main"} 3
# HELP ebb_sync_passes_total Sync passes by result (unchanged, applied, failed).
# TYPE ebb_sync_passes_total counter
ebb_sync_passes_total{result="applied",source="main"} 2
ebb_sync_passes_total{result="unchanged",source="main"} 1
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "ebb_sync_fetches_total", "ebb_sync_fetch_errors_total", "ebb_sync_passes_total"); err != nil {
		t.Error(err)
	}
}

func TestLoopInvalidCommitKeepsLastGood(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	good := f.target.last(t)
	ledgerBefore := gittest.Run(t, f.bare, "show", "main:.ebb/default/hello.yaml")
	f.pull(t)
	bad := strings.Replace(helloService("Ebb", canary10), "percent: 10", "percent: 0", 1)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": bad, "broken.yaml": "kind: [\n"}, "broken")
	p := f.loop.Sync(ctx)
	if p.Err == nil || p.Stage != StageInvalid {
		t.Fatalf("bad commit pass = %+v", p)
	}
	for _, want := range []string{"broken.yaml:", "service.yaml:"} {
		if !strings.Contains(p.Err.Error(), want) {
			t.Errorf("error %q does not name %s", p.Err, want)
		}
	}
	if f.target.last(t) != good {
		t.Error("an invalid commit was applied")
	}
	if got := gittest.Run(t, f.bare, "show", "main:.ebb/default/hello.yaml"); got != ledgerBefore {
		t.Error("an invalid commit changed the ledger")
	}
	st := f.loop.Status()
	if st.ErrorStage != StageInvalid || st.Applied == st.Fetched || !strings.Contains(st.LastError, "broken.yaml:") {
		t.Errorf("status = %+v", st)
	}
	if n := testutil.ToFloat64(f.loop.Metrics.errors.WithLabelValues("main", StageInvalid)); n != 1 {
		t.Errorf("ebb_sync_errors_total{stage=invalid} = %v, want 1", n)
	}
	// The same bad head is not planned again, and its error stands while
	// it is the head: over a pass that finds nothing new, and over one
	// that applies the last good state again.
	if p := f.loop.Sync(ctx); p.Err != nil || p.Commit != "" {
		t.Errorf("second pass over the bad head = %+v", p)
	}
	if st := f.loop.Status(); st.ErrorStage != StageInvalid || st.Applied == st.Fetched || !strings.Contains(st.LastError, "broken.yaml:") {
		t.Errorf("status after a second pass over the bad head = %+v, want its error kept", st)
	}
	f.loop.Resync = time.Nanosecond
	applies := f.target.count()
	if p := f.loop.Sync(ctx); p.Err != nil || f.target.count() != applies+1 {
		t.Errorf("resync over the bad head = %+v, %d applies, want one", p, f.target.count()-applies)
	}
	f.loop.Resync = 0
	if st := f.loop.Status(); st.ErrorStage != StageInvalid || !strings.Contains(st.LastError, "broken.yaml:") {
		t.Errorf("status after a resync over the bad head = %+v, want its error kept", st)
	}
	// Fixing it applies.
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", canary10), "broken.yaml": ""}, "fix")
	if p := f.loop.Sync(ctx); p.Err != nil || p.Wrote == "" {
		t.Fatalf("fixed pass = %+v", p)
	}
	if st := f.loop.Status(); st.LastError != "" || st.Applied != st.Fetched {
		t.Errorf("status after the fix = %+v", st)
	}
}

// TestLoopSharedHostIsInvalid: a commit whose routes serve one host from
// two namespaces is invalid like any other: the later use is named at its
// file and line, no ledger is committed, nothing is applied.
func TestLoopSharedHostIsInvalid(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	good := f.target.last(t)
	ledgerBefore := gittest.Run(t, f.bare, "rev-parse", "main:.ebb")
	f.pull(t)
	mapping := func(ns string) string {
		return "apiVersion: serving.knative.dev/v1beta1\nkind: DomainMapping\nmetadata:\n  name: api.example.com\n  namespace: " + ns +
			"\nspec:\n  ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}\n"
	}
	tenant := strings.Replace(helloService("Tenant", ""), "namespace: default", "namespace: tenant-x", 1)
	f.user.CommitAndPush(t, map[string]string{"mapping.yaml": mapping("default"), "tenant.yaml": tenant + "---\n" + mapping("tenant-x")}, "tenant-x maps api.example.com too")
	p := f.loop.Sync(ctx)
	if p.Err == nil || p.Stage != StageInvalid || p.Wrote != "" {
		t.Fatalf("shared host pass = %+v", p)
	}
	if want := "metadata.name: host api.example.com is already in use by another namespace (DomainMapping default/api.example.com)"; !strings.Contains(p.Err.Error(), "tenant.yaml:") || !strings.Contains(p.Err.Error(), want) {
		t.Errorf("error %q, want tenant.yaml:<line>: %s", p.Err, want)
	}
	if f.target.last(t) != good {
		t.Error("the state was applied")
	}
	if got := gittest.Run(t, f.bare, "rev-parse", "main:.ebb"); got != ledgerBefore {
		t.Error("the ledger was committed")
	}
}

// racingSource pushes a user commit right before the first write-back,
// so that the write-back loses the race and re-plans.
type racingSource struct {
	*git.Source
	once gosync.Once
	push func()
}

func (r *racingSource) WriteBack(ctx context.Context, base git.Commit, files map[string][]byte, msg string, replan git.Replan) (git.Commit, bool, error) {
	r.once.Do(r.push)
	return r.Source.WriteBack(ctx, base, files, msg, replan)
}

func TestLoopWriteBackConflictReplans(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	f.pull(t)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", canary10)}, "canary")
	other := gittest.Clone(t, f.url, "bob")
	var raced string
	f.loop.Source = &racingSource{Source: f.src, push: func() {
		raced = other.CommitAndPush(t, map[string]string{"README.md": "docs\n"}, "docs")
	}}
	p := f.loop.Sync(ctx)
	if p.Err != nil || p.Wrote == "" {
		t.Fatalf("racing pass = %+v", p)
	}
	log := gittest.Run(t, f.bare, "log", "--format=%s", "main")
	if !strings.HasPrefix(log, "ebb: ") || !strings.Contains(log, "\ndocs\ncanary\n") {
		t.Errorf("branch log:\n%s", log)
	}
	if parent := gittest.Run(t, f.bare, "rev-parse", "main^"); parent != raced {
		t.Errorf("ledger commit on %s, want on the racing commit %s", parent, raced)
	}
	if l := f.ledger(t); l.Latest != "hello-00002" {
		t.Errorf("ledger latest %s", l.Latest)
	}
	if st := f.loop.Status(); st.Conflicts != 1 {
		t.Errorf("conflicts = %d, want 1", st.Conflicts)
	}
	if n := testutil.ToFloat64(f.loop.Metrics.conflicts.WithLabelValues("main")); n != 1 {
		t.Errorf("ebb_sync_conflicts_total = %v", n)
	}
}

func TestLoopReadOnlyKeepsLedgerInMemory(t *testing.T) {
	f := newLoopFixture(t, true)
	ctx := context.Background()
	head := gittest.Run(t, f.bare, "rev-parse", "main")
	if p := f.loop.Sync(ctx); p.Err != nil || p.Wrote != "" || p.Commit != head {
		t.Fatalf("read-only pass = %+v", p)
	}
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", canary10)}, "canary")
	p := f.loop.Sync(ctx)
	if p.Err != nil || p.Wrote != "" {
		t.Fatalf("read-only canary pass = %+v", p)
	}
	d := f.target.last(t)
	if got := formatTraffic(d.Ledgers[0]); !strings.Contains(got, "hello-00001 at 90%") || !strings.Contains(got, "hello-00002 at 10%") {
		t.Errorf("applied traffic %q", got)
	}
	if out, _ := gittest.RunErr(f.bare, nil, "ls-tree", "-r", "--name-only", "main"); strings.Contains(out, ".ebb") {
		t.Errorf("read-only mode wrote a ledger:\n%s", out)
	}
	if !f.loop.Status().ReadOnly {
		t.Error("status does not say read-only")
	}
}

const gcNow = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  min-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: 1s
`

func TestLoopCollectsGarbageAsACommit(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "write-back", true: "read-only"}[readOnly], func(t *testing.T) {
			f := newLoopFixture(t, readOnly)
			ctx := context.Background()
			f.user.CommitAndPush(t, map[string]string{"config-gc.yaml": gcNow}, "gc config")
			if p := f.loop.Sync(ctx); p.Err != nil {
				t.Fatal(p.Err)
			}
			f.pull(t)
			f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", "")}, "hello: Ebb")
			if p := f.loop.Sync(ctx); p.Err != nil {
				t.Fatal(p.Err)
			}
			// Collected "later": the retired hello-00001 goes.
			later := f.loop.Main().At.Time.Add(time.Hour)
			res, err := CollectGarbage(ctx, f.loop.Main(), f.loop, later)
			if err != nil || res.Empty() {
				t.Fatalf("CollectGarbage = %+v, %v", res, err)
			}
			if p := f.loop.Sync(ctx); p.Err != nil || p.Commit == "" {
				t.Fatalf("pass after the collection = %+v", p)
			}
			var names []string
			for _, r := range f.target.last(t).Ledgers[0].Revisions {
				names = append(names, r.Name)
			}
			if diff := cmp.Diff([]string{"hello-00002"}, names); diff != "" {
				t.Errorf("applied revisions (-want +got):\n%s", diff)
			}
			subject := gittest.Run(t, f.bare, "log", "-1", "--format=%an|%s", "main")
			if readOnly && strings.HasPrefix(subject, "ebb|") {
				t.Errorf("read-only collection committed: %s", subject)
			}
			if !readOnly {
				if !strings.HasPrefix(subject, "ebb|ebb gc: ") {
					t.Errorf("head after the collection: %s", subject)
				}
				if l := f.ledger(t); len(l.Revisions) != 1 {
					t.Errorf("ledger on the branch keeps %d revisions", len(l.Revisions))
				}
			}
		})
	}
}

func TestLoopRunSyncsAtStartAndOnKicks(t *testing.T) {
	f := newLoopFixture(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	kicks := git.NewKicks()
	done := make(chan error, 1)
	go func() { done <- f.loop.Run(ctx, git.Poll{Interval: time.Hour}, kicks) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for range 500 {
			if ok() {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: not after 500 tries; status %+v", what, f.loop.Status())
	}
	waitFor("the first pass", func() bool { return f.target.count() == 1 })
	// The next poll is about an hour away (no jitter asked).
	waitFor("the next sync scheduled", func() bool { return !f.loop.Status().NextSync.IsZero() })
	if next := f.loop.Status().NextSync; next.Before(time.Now().Add(50 * time.Minute)) {
		t.Errorf("next sync at %v, want about an hour away", next)
	}
	f.pull(t)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", canary10)}, "canary")
	kicks.Kick()
	waitFor("the kicked pass", func() bool { return f.target.count() == 2 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if got := f.target.last(t).Ledgers[0].Latest; got != "hello-00002" {
		t.Errorf("latest %s after the kick", got)
	}
}

// failingTarget refuses its first n applies.
type failingTarget struct {
	recorder
	n int
}

func (f *failingTarget) Apply(ctx context.Context, d *Desired) error {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return errors.New("runtime unavailable")
	}
	f.mu.Unlock()
	return f.recorder.Apply(ctx, d)
}

func TestLoopRetriesAFailedApply(t *testing.T) {
	f := newLoopFixture(t, false)
	target := &failingTarget{n: 1}
	f.loop.Target = target
	ctx := context.Background()
	p := f.loop.Sync(ctx)
	if p.Stage != StageApply || p.Wrote == "" {
		t.Fatalf("first pass = %+v, want the ledger written and the apply failed", p)
	}
	if st := f.loop.Status(); st.ErrorStage != StageApply || st.Applied != "" {
		t.Errorf("status after a failed apply = %+v", st)
	}
	// Nothing moved, but the pass is due again.
	p = f.loop.Sync(ctx)
	if p.Err != nil || p.Commit != gittest.Run(t, f.bare, "rev-parse", "main") || p.Wrote != "" {
		t.Fatalf("retried pass = %+v", p)
	}
	if target.count() != 1 {
		t.Errorf("%d applies recorded, want 1", target.count())
	}
	if p := f.loop.Sync(ctx); p.Commit != "" || target.count() != 1 {
		t.Errorf("idle pass after the retry = %+v", p)
	}
}

// With Resync set, a pass with the head unchanged applies the last state
// again once Resync has passed since the last apply (the Target's chance
// to take back drift), and reports no new commit.
func TestLoopResyncAppliesAgain(t *testing.T) {
	f := newLoopFixture(t, false)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f.loop.Resync = 10 * time.Minute
	ctx := context.Background()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil {
		t.Fatal(p.Err)
	}
	first := f.target.count()
	now = now.Add(9 * time.Minute)
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || p.Commit != "" || f.target.count() != first {
		t.Fatalf("pass before Resync = %+v, %d applies, want none new", p, f.target.count()-first)
	}
	now = now.Add(time.Minute)
	p := f.loop.SyncAt(ctx, now)
	if p.Err != nil || p.Commit != "" || f.target.count() != first+1 {
		t.Fatalf("pass at Resync = %+v, %d applies, want one new and no commit reported", p, f.target.count()-first)
	}
	got, want := f.target.last(t), f.target.applied[first-1]
	gotObjs, wantObjs := mustAll(t, got), mustAll(t, want)
	if got.At != want.At || len(gotObjs) == 0 || len(gotObjs) != len(wantObjs) {
		t.Errorf("resync applied %d objects at %v, want the %d of the main state at %v", len(gotObjs), got.At, len(wantObjs), want.At)
	}
	if len(got.Objects) != 0 {
		t.Errorf("resync rendered %d objects again, want them all named the same as applied", len(got.Objects))
	}
	if p := f.loop.SyncAt(ctx, now); p.Err != nil || f.target.count() != first+1 {
		t.Errorf("pass right after the resync = %+v, %d applies, want none new", p, f.target.count()-first-1)
	}
}

// After Again (a controller leading again), a pass with the head unchanged
// plans and applies it, as a new process's first pass does; the pass
// after that applies nothing.
func TestLoopAgainAppliesTheHead(t *testing.T) {
	f := newLoopFixture(t, false)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if p := f.loop.SyncAt(ctx, now); p.Err != nil {
		t.Fatal(p.Err)
	}
	first := f.target.count()
	if p := f.loop.SyncAt(ctx, now.Add(time.Second)); p.Err != nil || f.target.count() != first {
		t.Fatalf("pass with the head unchanged = %+v, %d applies, want none new", p, f.target.count()-first)
	}
	f.loop.Again()
	if p := f.loop.SyncAt(ctx, now.Add(2*time.Second)); p.Err != nil || p.Commit == "" || f.target.count() != first+1 {
		t.Fatalf("pass after Again = %+v, %d applies, want the head applied once", p, f.target.count()-first)
	}
	if got, want := f.target.last(t).At, f.target.applied[first-1].At; got != want {
		t.Errorf("pass after Again applied %v, want the head %v", got, want)
	}
	if p := f.loop.SyncAt(ctx, now.Add(3*time.Second)); p.Err != nil || f.target.count() != first+1 {
		t.Errorf("pass after that = %+v, %d applies, want none new", p, f.target.count()-first-1)
	}
}

// A pass renders only the Services whose inputs changed since the state
// the Target last applied and names the other objects; after an apply
// fails, the next pass renders everything again.
func TestLoopRendersOnlyWhatChanged(t *testing.T) {
	f := newLoopFixture(t, false)
	target := &failingTarget{}
	f.loop.Target = target
	other := strings.NewReplacer("name: hello", "name: other", "TARGET", "GREETING").Replace(helloService("Other", ""))
	f.user.CommitAndPush(t, map[string]string{"other.yaml": other}, "other")
	ctx := context.Background()
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	first := target.last(t)
	if len(first.Same) != 0 || len(first.Objects) == 0 {
		t.Fatalf("first pass: %d objects and %d named the same, want every object rendered", len(first.Objects), len(first.Same))
	}
	service := func(u *unstructured.Unstructured) string {
		if s := u.GetLabels()["serving.knative.dev/service"]; s != "" {
			return s
		}
		return u.GetName()
	}

	// A push changes hello only.
	f.pull(t)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Ebb", "")}, "hello: Ebb")
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	d := target.last(t)
	if len(d.Objects) == 0 || len(d.Same) == 0 {
		t.Fatalf("push pass: %d objects and %d named the same, want both", len(d.Objects), len(d.Same))
	}
	for _, u := range d.Objects {
		if service(u) != "hello" {
			t.Errorf("push pass rendered %s %s of %q, want only hello's objects", u.GetKind(), u.GetName(), service(u))
		}
	}
	for _, r := range d.Same {
		if strings.HasPrefix(r.Name, "hello") {
			t.Errorf("push pass names %s %s the same", r.Kind, r.Name)
		}
	}
	all, err := d.All()
	if err != nil {
		t.Fatal(err)
	}
	full, err := render.Render(render.TreeInput(d.Tree, d.Ledgers))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, all); diff != "" {
		t.Errorf("All (-full render +got):\n%s", diff)
	}
	if got, want := len(d.Objects)+len(d.Same), len(full); got != want {
		t.Errorf("%d objects rendered and %d named the same, want %d in all", len(d.Objects), len(d.Same), want)
	}

	// The next apply fails: what the Target holds is not known, so the
	// pass after renders everything again.
	target.mu.Lock()
	target.n = 1
	target.mu.Unlock()
	f.pull(t)
	f.user.CommitAndPush(t, map[string]string{"service.yaml": helloService("Again", "")}, "hello: Again")
	if p := f.loop.Sync(ctx); p.Stage != StageApply {
		t.Fatalf("pass = %+v, want the apply failed", p)
	}
	if p := f.loop.Sync(ctx); p.Err != nil {
		t.Fatal(p.Err)
	}
	d = target.last(t)
	if full, err = render.Render(render.TreeInput(d.Tree, d.Ledgers)); err != nil {
		t.Fatal(err)
	}
	if len(d.Same) != 0 || len(d.Objects) != len(full) {
		t.Errorf("pass after a failed apply: %d objects and %d named the same, want all %d rendered", len(d.Objects), len(d.Same), len(full))
	}
}
