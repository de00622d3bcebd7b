package forge

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// State is a commit status's state, in GitHub's words.
type State string

// The states ebb sets.
const (
	Pending State = "pending"
	Success State = "success"
	Failure State = "failure"
)

// Status is one commit status: a Context (ebb/apply, ebb/preview/web)
// and its state.
type Status struct {
	Context     string `json:"context"`
	State       State  `json:"state"`
	Description string `json:"description,omitempty"`
	TargetURL   string `json:"targetURL,omitempty"`
}

// MaxDescription is the longest description ebb sends, in characters:
// GitHub's documented limit (140), kept on every forge.
const MaxDescription = 140

// Shorten cuts s to MaxDescription characters, ending it with "…" when
// cut.
func Shorten(s string) string {
	if utf8.RuneCountInString(s) <= MaxDescription {
		return s
	}
	r := []rune(s)
	return string(r[:MaxDescription-1]) + "…"
}

// APIError is an answer of the forge other than 2xx and 404.
type APIError struct {
	Method, URL string
	// Code is the HTTP status code, Status its line ("403 Forbidden").
	Code    int
	Status  string
	Message string
	// RateLimited is true for 429, and for 403 with the forge's rate
	// limit headers (X-RateLimit-Remaining: 0, Retry-After).
	RateLimited bool
	// RetryAfter is the Retry-After header's wait; Reset the time the
	// rate limit window ends (X-RateLimit-Reset, RateLimit-Reset); zero
	// when not given.
	RetryAfter time.Duration
	Reset      time.Time
}

func (e *APIError) Error() string {
	out := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if e.Message != "" {
		out += ": " + e.Message
	}
	return out
}

func newAPIError(req *http.Request, resp *http.Response, body []byte) *APIError {
	e := &APIError{Method: req.Method, URL: req.URL.String(), Code: resp.StatusCode, Status: resp.Status}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil {
		e.Message = msg.Message
	}
	h := resp.Header
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if s, err := strconv.ParseInt(h.Get(k), 10, 64); err == nil && s > 0 {
			e.Reset = time.Unix(s, 0)
			break
		}
	}
	remaining := cmp.Or(h.Get("X-RateLimit-Remaining"), h.Get("RateLimit-Remaining"))
	e.RateLimited = resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode == http.StatusForbidden && (remaining == "0" || h.Get("Retry-After") != ""))
	return e
}

// The documented shapes: GitHub's combined status
// (GET /repos/{o}/{r}/commits/{ref}/status) and Gitea's, which names the
// state "status"; GitLab's list of a commit's latest statuses
// (GET /projects/:id/repository/commits/:sha/statuses), which names the
// context "name", the state "status", and says "failed" for failure.
type (
	githubCombined struct {
		Statuses []struct {
			Context     string `json:"context"`
			State       string `json:"state"`
			Status      string `json:"status"` // Gitea
			Description string `json:"description"`
			TargetURL   string `json:"target_url"`
		} `json:"statuses"`
	}
	gitlabStatus struct {
		Name        string `json:"name"`
		Status      string `json:"status"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
)

// perPage is how many statuses one read asks for: a commit carries one
// per Service and ebb/apply, and whatever else posts to it.
const perPage = 100

// Statuses reads the latest status of each context on commit sha.
func (c *Client) Statuses(ctx context.Context, sha string) ([]Status, error) {
	var out []Status
	switch c.Kind {
	case GitLab:
		var list []gitlabStatus
		path := fmt.Sprintf("/projects/%s/repository/commits/%s/statuses?per_page=%d", url.PathEscape(c.Repository), url.PathEscape(sha), perPage)
		if err := c.get(ctx, path, &list); err != nil {
			return nil, fmt.Errorf("statuses of %s: %w", sha, err)
		}
		for _, s := range list {
			out = append(out, Status{Context: s.Name, State: fromGitLab(s.Status), Description: s.Description, TargetURL: s.TargetURL})
		}
	case GitHub, Gitea:
		var comb githubCombined
		path := fmt.Sprintf("/repos/%s/commits/%s/status?per_page=%d", c.Repository, url.PathEscape(sha), perPage)
		if c.Kind == Gitea {
			path = fmt.Sprintf("/repos/%s/commits/%s/status?limit=%d", c.Repository, url.PathEscape(sha), perPage)
		}
		if err := c.get(ctx, path, &comb); err != nil {
			return nil, fmt.Errorf("statuses of %s: %w", sha, err)
		}
		for _, s := range comb.Statuses {
			out = append(out, Status{Context: s.Context, State: State(cmp.Or(s.State, s.Status)), Description: s.Description, TargetURL: s.TargetURL})
		}
	default:
		return nil, fmt.Errorf("forge %q: unknown", c.Kind)
	}
	return out, nil
}

// SetStatus sets status s on commit sha: POST /repos/{o}/{r}/statuses/{sha}
// (GitHub, Gitea) or POST /projects/:id/statuses/:sha (GitLab).
func (c *Client) SetStatus(ctx context.Context, sha string, s Status) error {
	var err error
	switch c.Kind {
	case GitLab:
		body := map[string]string{"state": toGitLab(s.State), "name": s.Context, "description": s.Description}
		if s.TargetURL != "" {
			body["target_url"] = s.TargetURL
		}
		err = c.do(ctx, http.MethodPost, fmt.Sprintf("/projects/%s/statuses/%s", url.PathEscape(c.Repository), url.PathEscape(sha)), body, nil)
	case GitHub, Gitea:
		body := map[string]string{"state": string(s.State), "context": s.Context, "description": s.Description}
		if s.TargetURL != "" {
			body["target_url"] = s.TargetURL
		}
		err = c.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/statuses/%s", c.Repository, url.PathEscape(sha)), body, nil)
	default:
		err = fmt.Errorf("forge %q: unknown", c.Kind)
	}
	if err != nil {
		return fmt.Errorf("status %s of %s: %w", s.Context, sha, err)
	}
	return nil
}

// toGitLab is GitLab's name of a state: pending, success or failed.
func toGitLab(s State) string {
	if s == Failure {
		return "failed"
	}
	return string(s)
}

// fromGitLab reads a GitLab state back: failed and canceled are
// failures, running is pending.
func fromGitLab(s string) State {
	switch strings.ToLower(s) {
	case "failed", "canceled":
		return Failure
	case "running", "created":
		return Pending
	}
	return State(s)
}
