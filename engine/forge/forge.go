// Package forge talks to the forge a repository lives on (GitHub,
// GitLab, Gitea/Forgejo) through its REST API: it reads pull requests
// (who opened one, from which repository, with which labels, whether it
// is still open), reads and sets commit statuses, and keeps a comment on
// a pull request.
package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Kind is a forge's API dialect.
type Kind string

const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	Gitea  Kind = "gitea" // also Forgejo
)

// PullRequest is what ebb needs to know of a pull (or merge) request.
type PullRequest struct {
	Number int
	// Open is false once the pull request is closed or merged.
	Open   bool
	Author string
	Labels []string
	// HeadSHA is the commit the pull request's head is at.
	HeadSHA string
	// HeadRepository names where the head branch lives ("" when the
	// forge no longer knows, as for a deleted fork).
	HeadRepository string
	// SameRepository is true when the head branch lives in the
	// repository the pull request targets, so whoever pushed it can push
	// to that repository; false for a fork.
	SameRepository bool
}

// ErrNotFound is returned for a pull request the forge does not know.
var ErrNotFound = errors.New("not found")

// Client reads one repository's pull requests.
type Client struct {
	Kind Kind
	// API is the REST API's base URL: https://api.github.com,
	// https://ghe.example.com/api/v3, https://gitlab.example.com/api/v4,
	// https://gitea.example.com/api/v1.
	API string
	// Repository is owner/name (GitLab: the project's full path).
	Repository string
	// Token authenticates the requests; empty sends none.
	Token string
	// HTTP is the client to use; nil means one with a 30 s timeout.
	HTTP *http.Client
	// Observe, when set, is told of every request's method and answer
	// code (0 when no answer came), for metrics.
	Observe func(method string, code int)
}

// New makes a client for the repository at repoURL (https://, ssh://
// or scp-form user@host:path). api may be empty to derive the API's
// address from the repository's host.
func New(kind Kind, api, repoURL, token string) (*Client, error) {
	host, repo, err := splitRepoURL(repoURL)
	if err != nil {
		return nil, err
	}
	if api == "" {
		switch kind {
		case GitHub:
			api = "https://" + host + "/api/v3"
			if host == "github.com" {
				api = "https://api.github.com"
			}
		case GitLab:
			api = "https://" + host + "/api/v4"
		case Gitea:
			api = "https://" + host + "/api/v1"
		}
	}
	switch kind {
	case GitHub, GitLab, Gitea:
	default:
		return nil, fmt.Errorf("forge %q: want github, gitlab or gitea", kind)
	}
	if u, err := url.Parse(api); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("forge API %q: want an http(s) URL", api)
	}
	return &Client{Kind: kind, API: strings.TrimSuffix(api, "/"), Repository: repo, Token: token}, nil
}

// ParseKind reads a --forge value: KIND or KIND=API_URL.
func ParseKind(v string) (Kind, string, error) {
	k, api, _ := strings.Cut(v, "=")
	switch Kind(k) {
	case GitHub, GitLab, Gitea:
		return Kind(k), api, nil
	case "forgejo":
		return Gitea, api, nil
	}
	return "", "", fmt.Errorf("forge %q: want github, gitlab, gitea or forgejo, optionally =API_URL", k)
}

// splitRepoURL returns the host and the owner/name path of a repository
// URL.
func splitRepoURL(raw string) (host, repo string, err error) {
	var p string
	if u, perr := url.Parse(raw); perr == nil && u.Host != "" {
		host, p = u.Hostname(), u.Path
	} else if at, colon := strings.Index(raw, "@"), strings.Index(raw, ":"); at > 0 && colon > at {
		host, p = raw[at+1:colon], raw[colon+1:]
	} else {
		return "", "", fmt.Errorf("repository %q: not a forge URL (https://host/owner/name, ssh://, or user@host:owner/name)", raw)
	}
	repo = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if !strings.Contains(repo, "/") {
		return "", "", fmt.Errorf("repository %q: want owner/name in its path", raw)
	}
	return host, repo, nil
}

// PullRequest reads pull request n.
func (c *Client) PullRequest(ctx context.Context, n int) (PullRequest, error) {
	switch c.Kind {
	case GitLab:
		return c.gitlab(ctx, n)
	case GitHub, Gitea:
		return c.github(ctx, n)
	}
	return PullRequest{}, fmt.Errorf("forge %q: unknown", c.Kind)
}

// githubPull is the part of a GitHub (and Gitea) pull request ebb reads.
type githubPull struct {
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	User   struct {
		Login string `json:"login"`
	} `json:"user"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
	Head struct {
		SHA  string `json:"sha"`
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"base"`
}

func (c *Client) github(ctx context.Context, n int) (PullRequest, error) {
	var p githubPull
	if err := c.get(ctx, fmt.Sprintf("/repos/%s/pulls/%d", c.Repository, n), &p); err != nil {
		return PullRequest{}, fmt.Errorf("pull request #%d: %w", n, err)
	}
	pr := PullRequest{Number: n, Open: p.State == "open" && !p.Merged, Author: p.User.Login, HeadSHA: p.Head.SHA}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.Name)
	}
	if p.Head.Repo != nil {
		pr.HeadRepository = p.Head.Repo.FullName
	}
	base := c.Repository
	if p.Base.Repo != nil {
		base = p.Base.Repo.FullName
	}
	pr.SameRepository = pr.HeadRepository != "" && strings.EqualFold(pr.HeadRepository, base)
	return pr, nil
}

// gitlabMerge is the part of a GitLab merge request ebb reads.
type gitlabMerge struct {
	State  string `json:"state"`
	Author struct {
		Username string `json:"username"`
	} `json:"author"`
	Labels          []string `json:"labels"`
	SHA             string   `json:"sha"`
	SourceProjectID int64    `json:"source_project_id"`
	TargetProjectID int64    `json:"target_project_id"`
}

func (c *Client) gitlab(ctx context.Context, n int) (PullRequest, error) {
	var m gitlabMerge
	if err := c.get(ctx, fmt.Sprintf("/projects/%s/merge_requests/%d", url.PathEscape(c.Repository), n), &m); err != nil {
		return PullRequest{}, fmt.Errorf("merge request !%d: %w", n, err)
	}
	pr := PullRequest{Number: n, Open: m.State == "opened", Author: m.Author.Username, Labels: m.Labels, HeadSHA: m.SHA,
		SameRepository: m.SourceProjectID != 0 && m.SourceProjectID == m.TargetProjectID}
	if pr.SameRepository {
		pr.HeadRepository = c.Repository
	}
	return pr, nil
}

// maxBody bounds an API answer: a pull request is a few KiB.
const maxBody = 1 << 20

func (c *Client) get(ctx context.Context, path string, into any) error {
	return c.do(ctx, http.MethodGet, path, nil, into)
}

// do sends a request with body (JSON, nil for none) and decodes the
// answer into into (nil: the answer is not read). A 404 is ErrNotFound,
// any other answer but 2xx an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body, into any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.API+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if c.Kind == GitHub {
		req.Header.Set("Accept", "application/vnd.github+json")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		switch c.Kind {
		case Gitea:
			req.Header.Set("Authorization", "token "+c.Token)
		default:
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.observe(method, 0)
		return err
	}
	defer resp.Body.Close()
	c.observe(method, resp.StatusCode)
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return ErrNotFound
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return newAPIError(req, resp, answer)
	case into == nil:
		return nil
	}
	if err := json.Unmarshal(answer, into); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, c.API+path, err)
	}
	return nil
}

func (c *Client) observe(method string, code int) {
	if c.Observe != nil {
		c.Observe(method, code)
	}
}

// Number is the pull request a ref names: refs/pull/<n>/head (GitHub,
// Gitea) or refs/merge-requests/<n>/head (GitLab); ok is false for any
// other ref.
func Number(ref string) (int, bool) {
	for _, pre := range []string{"refs/pull/", "refs/merge-requests/"} {
		rest, ok := strings.CutPrefix(ref, pre)
		if !ok {
			continue
		}
		num, tail, _ := strings.Cut(rest, "/")
		if tail != "head" || num == "" || len(num) > 9 {
			return 0, false
		}
		n := 0
		for _, r := range num {
			if r < '0' || r > '9' {
				return 0, false
			}
			n = n*10 + int(r-'0')
		}
		return n, n > 0
	}
	return 0, false
}
