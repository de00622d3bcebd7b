package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/forgetest"
)

// TestStatuses sets statuses and reads them back from a server playing
// each forge's documented status endpoints (no forge runs here).
func TestStatuses(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, kind := range []Kind{GitHub, GitLab, Gitea} {
		t.Run(string(kind), func(t *testing.T) {
			srv := forgetest.New(t, forgetest.Kind(kind), "org/serving", "tok")
			c, err := New(kind, srv.API, "https://git.example.com/org/serving.git", "tok")
			if err != nil {
				t.Fatal(err)
			}
			pending := Status{Context: "ebb/preview/web", State: Pending, Description: "starting"}
			ready := Status{Context: "ebb/preview/web", State: Success, Description: "ready", TargetURL: "http://pr-7-web.default.example.com"}
			failed := Status{Context: "ebb/apply", State: Failure, Description: "invalid: web.yaml:14: spec.traffic: sum 90"}
			for _, s := range []Status{pending, ready, failed} {
				if err := c.SetStatus(context.Background(), sha, s); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.Statuses(context.Background(), sha)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Status{failed, ready}, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			// What the forge stores, in its own words.
			wantState := "failure"
			if kind == GitLab {
				wantState = "failed"
			}
			if p := srv.Posted(sha); len(p) != 3 || p[2].State != wantState || p[2].Context != "ebb/apply" {
				t.Errorf("posted %+v", p)
			}
		})
	}
}

func TestAPIError(t *testing.T) {
	srv := forgetest.New(t, "github", "org/serving", "tok")
	c, _ := New(GitHub, srv.API, "https://github.example.com/org/serving", "tok")
	reset := time.Unix(1_900_000_000, 0)
	for _, tc := range []struct {
		name string
		fail forgetest.Failure
		want APIError
	}{
		{"primary rate limit", forgetest.Failure{Code: 403, Message: "API rate limit exceeded",
			Header: http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1900000000"}}},
			APIError{Code: 403, Status: "403 Forbidden", Message: "API rate limit exceeded", RateLimited: true, Reset: reset}},
		{"secondary rate limit", forgetest.Failure{Code: 403, Message: "You have exceeded a secondary rate limit",
			Header: http.Header{"Retry-After": {"60"}}},
			APIError{Code: 403, Status: "403 Forbidden", Message: "You have exceeded a secondary rate limit", RateLimited: true, RetryAfter: time.Minute}},
		{"gitlab 429", forgetest.Failure{Code: 429, Message: "Retry later", Header: http.Header{"Ratelimit-Reset": {"1900000000"}}},
			APIError{Code: 429, Status: "429 Too Many Requests", Message: "Retry later", RateLimited: true, Reset: reset}},
		{"no permission", forgetest.Failure{Code: 403, Message: "Resource not accessible by integration"},
			APIError{Code: 403, Status: "403 Forbidden", Message: "Resource not accessible by integration"}},
		{"validation", forgetest.Failure{Code: 422, Message: "Validation Failed"},
			APIError{Code: 422, Status: "422 Unprocessable Entity", Message: "Validation Failed"}},
	} {
		srv.FailNext(tc.fail)
		err := c.SetStatus(context.Background(), "abc", Status{Context: "ebb/apply", State: Success})
		var got *APIError
		if !errors.As(err, &got) {
			t.Errorf("%s: %v, want an *APIError", tc.name, err)
			continue
		}
		tc.want.Method, tc.want.URL = "POST", srv.API+"/repos/org/serving/statuses/abc"
		if diff := cmp.Diff(&tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if !strings.HasPrefix(err.Error(), "status ebb/apply of abc: POST ") {
			t.Errorf("%s: error %q", tc.name, err)
		}
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", 150)
	if got := Shorten(long); len([]rune(got)) != MaxDescription || !strings.HasSuffix(got, "…") {
		t.Errorf("Shorten(150 runes) = %d runes %q", len([]rune(got)), got)
	}
	if got := Shorten("applied"); got != "applied" {
		t.Errorf("Shorten(applied) = %q", got)
	}
}

// TestComments keeps one comment on a pull request against a server
// playing each forge's documented comment (GitLab: note) endpoints.
func TestComments(t *testing.T) {
	for _, kind := range []Kind{GitHub, GitLab, Gitea} {
		t.Run(string(kind), func(t *testing.T) {
			srv := forgetest.New(t, forgetest.Kind(kind), "org/serving", "tok")
			c, _ := New(kind, srv.API, "https://git.example.com/org/serving.git", "tok")
			ctx := context.Background()
			srv.AddComment(7, "LGTM")
			made, err := c.CreateComment(ctx, 7, "first")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.EditComment(ctx, 7, made.ID, "second"); err != nil {
				t.Fatal(err)
			}
			got, err := c.Comments(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			want := []Comment{{ID: 1, Body: "LGTM"}, {ID: made.ID, Body: "second"}}
			if kind == GitLab {
				want[0], want[1] = want[1], want[0]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("comments (-want +got):\n%s", diff)
			}
			if err := c.EditComment(ctx, 7, 99, "x"); !errors.Is(err, ErrNotFound) {
				t.Errorf("editing a missing comment: %v", err)
			}
		})
	}
}
