package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/internal/forgetest"
	"github.com/ebb-dev/ebb/serving/canary"
)

func TestPullRequestComments(t *testing.T) {
	st := StatusState{
		Source: SourceStatus{Previews: []PreviewStatus{
			{Ref: "refs/pull/7/head", Tag: "pr-7", Commit: "7777777777777777", Services: []string{"default/web", "default/api"}},
			{Ref: "refs/heads/preview/x", Tag: "preview-x", Commit: "xxxx", Services: []string{"default/web"}},
			{Ref: "refs/merge-requests/8/head", Tag: "pr-8", Commit: "8888888888888888", Error: "web.yaml:9: image \"evil\" is not allowed\nweb.yaml:12: more"},
		}},
		Services: []ServiceStatus{
			{Namespace: "default", Name: "web", URL: "http://web.default.example.com", Tags: []TagURL{{Tag: "pr-7", URL: "http://pr-7-web.default.example.com"}},
				Rollout: &RolloutStatus{State: canary.State{Canary: "web-00002", Phase: canary.Progressing, Weight: 20}},
				Revisions: []RevisionStatus{
					{Name: "web-pr-7-abcdef0", Tags: []string{"pr-7"}, Ready: True, Figures: &Figures{Requests: 200, Failures: 1, SuccessRate: 99.5, P99: "12ms"}},
					{Name: "web-00002", Percent: 20, Ready: True, Figures: &Figures{Requests: 50, SuccessRate: 100, P99: "9ms"}},
					{Name: "web-00001", Percent: 80, Ready: True},
				}},
			{Namespace: "default", Name: "api", Revisions: []RevisionStatus{
				{Name: "api-pr-7-1234567", Tags: []string{"pr-7"}, Ready: Unknown, Reason: "building ko://example.com/api"},
				{Name: "api-00001", Percent: 100, Ready: True, Figures: &Figures{Requests: 10, SuccessRate: 100, P99: "1ms"}},
			}},
		},
	}
	want := map[int]string{
		7: CommentMarker + "\n**ebb** preview `pr-7` at 777777777777\n\n" +
			"| Service | Preview | Canary weight | Success rate | p99 |\n|---|---|---|---|---|\n" +
			"| web | http://pr-7-web.default.example.com | web-00002 20% | 99.5% | 12ms |\n" +
			"| api | pending: starting: building ko://example.com/api | - | - | - |\n",
		8: CommentMarker + "\n**ebb** preview `pr-8` at 888888888888\n\n" +
			"Not run:\n\n```\nweb.yaml:9: image \"evil\" is not allowed\nweb.yaml:12: more\n```\n",
	}
	if diff := cmp.Diff(want, PullRequestComments(st)); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}

// TestStatusPosterComment keeps one comment on a pull request, on a
// server that plays each forge's documented comment endpoints (no forge
// can run on the test machine): made once, edited in place at most once
// a minute when only its figures change, at once when more does, found
// again by its marker after a restart.
func TestStatusPosterComment(t *testing.T) {
	for _, kind := range []forge.Kind{forge.GitHub, forge.GitLab, forge.Gitea} {
		t.Run(string(kind), func(t *testing.T) {
			srv := forgetest.New(t, forgetest.Kind(kind), "org/serving", "tok")
			client, _ := forge.New(kind, srv.API, "https://git.example.com/org/serving.git", "tok")
			srv.AddComment(7, "LGTM")
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			p := &StatusPoster{Client: client, Comments: client}
			row := func(preview, rate string) string {
				return "| web | " + preview + " | - | " + rate + " | 12ms |"
			}
			for i, r := range []struct {
				poster  *StatusPoster
				advance time.Duration
				body    string
				want    string // ebb's comment after the round
			}{
				{p, 0, row("starting", "-"), row("starting", "-")},
				{p, 0, row("starting", "-"), row("starting", "-")},
				{p, 10 * time.Second, row("http://pr-7-web", "100.0%"), row("http://pr-7-web", "100.0%")}, // ready: at once
				{p, 10 * time.Second, row("http://pr-7-web", "99.0%"), row("http://pr-7-web", "100.0%")},  // figures: at most once a minute
				{p, time.Minute, row("http://pr-7-web", "99.0%"), row("http://pr-7-web", "99.0%")},
				{&StatusPoster{Client: client, Comments: client}, time.Hour, row("http://pr-7-web", "99.0%"), row("http://pr-7-web", "99.0%")},
				{&StatusPoster{Client: client, Comments: client}, 0, row("not ready", "-"), row("not ready", "-")},
			} {
				now = now.Add(r.advance)
				if err := r.poster.Round(context.Background(), nil, map[int]string{7: CommentMarker + "\n" + r.body}, now); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				cs := srv.Comments(7)
				if len(cs) != 2 || cs[0].Body != "LGTM" || cs[1].Body != CommentMarker+"\n"+r.want {
					t.Errorf("round %d: comments %+v, want LGTM and ebb's %q", i, cs, r.want)
				}
			}
			var edits, posts int
			for _, q := range srv.Requests() {
				switch q.Method {
				case "PATCH", "PUT":
					edits++
				case "POST":
					posts++
				}
			}
			if posts != 1 || edits != 3 {
				t.Errorf("%d comments made and %d edits, want 1 and 3: %+v", posts, edits, srv.Requests())
			}
			if !strings.HasPrefix(srv.Comments(7)[1].Body, CommentMarker) {
				t.Error("ebb's comment lost its marker")
			}
		})
	}
}
