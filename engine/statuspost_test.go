package engine

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/internal/forgetest"
)

// TestStatusPoster posts a preview's statuses, then a rollback's, to a
// server that plays each forge's documented status endpoints (no forge
// can run on the test machine): pending, then success with the preview's
// URL; nothing again for the same state, in the same process or after a
// restart.
func TestStatusPoster(t *testing.T) {
	const head, canaryCommit = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	pending := CommitStatus{Commit: head, Status: forge.Status{Context: "ebb/preview/web", State: forge.Pending, Description: "starting"}}
	ready := CommitStatus{Commit: head, Status: forge.Status{Context: "ebb/preview/web", State: forge.Success,
		Description: "ready at http://pr-7-web.default.example.com", TargetURL: "http://pr-7-web.default.example.com"}}
	rolledBack := CommitStatus{Commit: canaryCommit, Status: forge.Status{Context: "ebb/rollout/web", State: forge.Failure,
		Description: "web-00002 rolled back: success 80.0% < 99%, 3 of 3 checks"}}
	for _, kind := range []forge.Kind{forge.GitHub, forge.GitLab, forge.Gitea} {
		t.Run(string(kind), func(t *testing.T) {
			srv := forgetest.New(t, forgetest.Kind(kind), "org/serving", "tok")
			client, err := forge.New(kind, srv.API, "https://git.example.com/org/serving.git", "tok")
			if err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			if client.Observe, err = ForgeRequests(reg, "main", string(kind)); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			first, restarted := &StatusPoster{Forge: string(kind), Client: client}, &StatusPoster{Forge: string(kind), Client: client}
			rounds := []struct {
				name    string
				poster  *StatusPoster
				want    []CommitStatus
				methods []string // the requests the round makes
			}{
				{"pending", first, []CommitStatus{pending}, []string{"GET", "POST"}},
				{"pending again", first, []CommitStatus{pending}, nil},
				{"ready", first, []CommitStatus{ready}, []string{"POST"}},
				{"ready again", first, []CommitStatus{ready}, nil},
				{"ready after a restart", restarted, []CommitStatus{ready}, []string{"GET"}},
				{"rolled back", restarted, []CommitStatus{ready, rolledBack}, []string{"GET", "POST"}},
				{"rolled back after a restart", &StatusPoster{Client: client}, []CommitStatus{ready, rolledBack}, []string{"GET", "GET"}},
			}
			seen := 0
			for _, r := range rounds {
				if err := r.poster.Post(ctx, r.want, time.Now()); err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				reqs := srv.Requests()
				var got []string
				for _, q := range reqs[seen:] {
					got = append(got, q.Method)
				}
				seen = len(reqs)
				if diff := cmp.Diff(r.methods, got); diff != "" {
					t.Errorf("%s: requests (-want +got):\n%s", r.name, diff)
				}
			}
			wantState := map[forge.Kind]string{forge.GitLab: "failed"}[kind]
			if wantState == "" {
				wantState = "failure"
			}
			want := []forgetest.Status{
				{Context: "ebb/preview/web", State: "pending", Description: "starting"},
				{Context: "ebb/preview/web", State: "success", Description: ready.Description, TargetURL: ready.TargetURL},
			}
			if diff := cmp.Diff(want, srv.Posted(head)); diff != "" {
				t.Errorf("statuses of the preview's head (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]forgetest.Status{{Context: "ebb/rollout/web", State: wantState, Description: rolledBack.Description}}, srv.Posted(canaryCommit)); diff != "" {
				t.Errorf("statuses of the canary's commit (-want +got):\n%s", diff)
			}
			if st := first.Status(); st.Posted != 2 || st.Waiting != 0 || st.LastError != "" {
				t.Errorf("status %+v, want 2 posted, none waiting, no error", st)
			}
			if n := testutil.ToFloat64(mustCounter(t, reg, "ebb_forge_requests_total", map[string]string{"method": "POST", "code": "201"})); n != 3 {
				t.Errorf("ebb_forge_requests_total{method=POST,code=201} = %v, want 3", n)
			}
		})
	}
}

// TestStatusPosterRateLimit: a rate-limited answer is surfaced (error,
// reset, next try after the reset) and the status is posted once the
// forge answers again.
func TestStatusPosterRateLimit(t *testing.T) {
	srv := forgetest.New(t, "github", "org/serving", "tok")
	client, _ := forge.New(forge.GitHub, srv.API, "https://github.example.com/org/serving", "tok")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reset := now.Add(20 * time.Minute)
	p := &StatusPoster{Forge: "github", Client: client}
	want := []CommitStatus{{Commit: "abc", Status: forge.Status{Context: "ebb/apply", State: forge.Success, Description: "applied"}}}
	for i, tc := range []struct {
		fail      forgetest.Failure
		until     time.Time
		nextTry   time.Time
		errPrefix string
	}{
		{forgetest.Failure{Code: 403, Message: "API rate limit exceeded",
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)}}},
			reset, reset, "statuses of abc: GET "},
		{forgetest.Failure{Code: http.StatusUnprocessableEntity, Message: "Validation Failed"}, time.Time{}, now.Add(2 * time.Second), "statuses of abc: GET "},
	} {
		srv.FailNext(tc.fail)
		if err := p.Post(context.Background(), want, now); err == nil {
			t.Fatalf("round %d: no error", i)
		}
		st := p.Status()
		if !strings.HasPrefix(st.LastError, tc.errPrefix) || !st.RateLimitedUntil.Equal(tc.until) || !st.NextTry.Equal(tc.nextTry) || st.Waiting != 1 {
			t.Errorf("round %d: status %+v, want the error, rate limited until %v, next try %v, 1 waiting", i, st, tc.until, tc.nextTry)
		}
	}
	if err := p.Post(context.Background(), want, now); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.LastError != "" || st.Posted != 1 || st.Waiting != 0 || !st.NextTry.IsZero() {
		t.Errorf("after the forge answers: %+v", st)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := prometheus.NewCounter(prometheus.CounterOpts{Name: "sum"})
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			sum.Add(m.GetCounter().GetValue())
		}
	}
	return sum
}
