package forge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The answers below are trimmed from each forge's documented REST
// answers; no forge can run on the test machine, so a test server plays
// one.
const (
	githubFork = `{"number":7,"state":"open","merged":false,"user":{"login":"mallory"},
"labels":[{"name":"bug"},{"name":"ok-to-preview"}],
"head":{"sha":"aaaa","ref":"feature","repo":{"full_name":"mallory/serving"}},
"base":{"sha":"bbbb","ref":"main","repo":{"full_name":"org/serving"}}}`
	githubMerged = `{"number":8,"state":"closed","merged":true,"user":{"login":"alice"},"labels":[],
"head":{"sha":"cccc","repo":{"full_name":"org/serving"}},"base":{"repo":{"full_name":"org/serving"}}}`
	githubDeletedFork = `{"number":9,"state":"open","user":{"login":"bob"},"labels":[],
"head":{"sha":"dddd","repo":null},"base":{"repo":{"full_name":"org/serving"}}}`
	gitlabSame = `{"iid":3,"state":"opened","author":{"username":"alice"},"labels":["preview"],
"sha":"eeee","source_project_id":42,"target_project_id":42}`
	gitlabFork = `{"iid":4,"state":"opened","author":{"username":"mallory"},"labels":[],
"sha":"ffff","source_project_id":99,"target_project_id":42}`
	giteaSame = `{"number":5,"state":"open","merged":false,"user":{"login":"alice"},"labels":[{"name":"preview"}],
"head":{"sha":"1111","repo":{"full_name":"org/serving"}},"base":{"repo":{"full_name":"org/serving"}}}`
)

func TestPullRequest(t *testing.T) {
	var gotAuth, gotAccept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotAccept = r.Header.Get("Authorization"), r.Header.Get("Accept")
		body, ok := map[string]string{
			"/api/v3/repos/org/serving/pulls/7":               githubFork,
			"/api/v3/repos/org/serving/pulls/8":               githubMerged,
			"/api/v3/repos/org/serving/pulls/9":               githubDeletedFork,
			"/api/v4/projects/org%2Fserving/merge_requests/3": gitlabSame,
			"/api/v4/projects/org%2Fserving/merge_requests/4": gitlabFork,
			"/api/v1/repos/org/serving/pulls/5":               giteaSame,
			"/api/v3/repos/org/serving/pulls/500":             "",
		}[r.URL.EscapedPath()]
		switch {
		case !ok:
			http.NotFound(w, r)
		case body == "":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"API rate limit exceeded"}`))
		default:
			w.Write([]byte(body))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		kind       Kind
		api        string
		n          int
		want       PullRequest
		auth, accp string
	}{
		{GitHub, "/api/v3", 7, PullRequest{Number: 7, Open: true, Author: "mallory", Labels: []string{"bug", "ok-to-preview"}, HeadSHA: "aaaa", HeadRepository: "mallory/serving"}, "Bearer tok", "application/vnd.github+json"},
		{GitHub, "/api/v3", 8, PullRequest{Number: 8, Author: "alice", HeadSHA: "cccc", HeadRepository: "org/serving", SameRepository: true}, "Bearer tok", "application/vnd.github+json"},
		{GitHub, "/api/v3", 9, PullRequest{Number: 9, Open: true, Author: "bob", HeadSHA: "dddd"}, "Bearer tok", "application/vnd.github+json"},
		{GitLab, "/api/v4", 3, PullRequest{Number: 3, Open: true, Author: "alice", Labels: []string{"preview"}, HeadSHA: "eeee", HeadRepository: "org/serving", SameRepository: true}, "Bearer tok", "application/json"},
		{GitLab, "/api/v4", 4, PullRequest{Number: 4, Open: true, Author: "mallory", Labels: []string{}, HeadSHA: "ffff"}, "Bearer tok", "application/json"},
		{Gitea, "/api/v1", 5, PullRequest{Number: 5, Open: true, Author: "alice", Labels: []string{"preview"}, HeadSHA: "1111", HeadRepository: "org/serving", SameRepository: true}, "token tok", "application/json"},
	} {
		c, err := New(tc.kind, srv.URL+tc.api, "https://git.example.com/org/serving.git", "tok")
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.PullRequest(context.Background(), tc.n)
		if err != nil {
			t.Errorf("%s #%d: %v", tc.kind, tc.n, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s #%d (-want +got):\n%s", tc.kind, tc.n, diff)
		}
		if gotAuth != tc.auth || gotAccept != tc.accp {
			t.Errorf("%s: Authorization %q, Accept %q; want %q, %q", tc.kind, gotAuth, gotAccept, tc.auth, tc.accp)
		}
	}
	c, _ := New(GitHub, srv.URL+"/api/v3", "git@git.example.com:org/serving.git", "")
	if _, err := c.PullRequest(context.Background(), 404); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown pull request: %v", err)
	}
	if _, err := c.PullRequest(context.Background(), 500); err == nil || err.Error() != "pull request #500: GET "+srv.URL+"/api/v3/repos/org/serving/pulls/500: 403 Forbidden: API rate limit exceeded" {
		t.Errorf("refused request: %v", err)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		kind          Kind
		api, repo     string
		wantAPI, want string
	}{
		{GitHub, "", "https://github.com/org/serving.git", "https://api.github.com", "org/serving"},
		{GitHub, "", "git@github.com:org/serving.git", "https://api.github.com", "org/serving"},
		{GitHub, "", "ssh://git@ghe.example.com:2222/org/serving", "https://ghe.example.com/api/v3", "org/serving"},
		{GitLab, "", "https://gitlab.example.com/group/sub/serving.git", "https://gitlab.example.com/api/v4", "group/sub/serving"},
		{Gitea, "http://127.0.0.1:3000/api/v1/", "http://127.0.0.1:3000/org/serving.git", "http://127.0.0.1:3000/api/v1", "org/serving"},
	} {
		c, err := New(tc.kind, tc.api, tc.repo, "")
		if err != nil {
			t.Errorf("New(%s, %s): %v", tc.kind, tc.repo, err)
			continue
		}
		if c.API != tc.wantAPI || c.Repository != tc.want {
			t.Errorf("New(%s, %s) = %s %s, want %s %s", tc.kind, tc.repo, c.API, c.Repository, tc.wantAPI, tc.want)
		}
	}
	for _, bad := range []string{"/srv/git/serving.git", "https://git.example.com/serving.git"} {
		if _, err := New(GitHub, "", bad, ""); err == nil {
			t.Errorf("New(%s) made a client", bad)
		}
	}
	if _, err := New("bitbucket", "", "https://x.example.com/a/b", ""); err == nil {
		t.Error("an unknown kind made a client")
	}
}

func TestNumber(t *testing.T) {
	for ref, want := range map[string]int{
		"refs/pull/12/head":          12,
		"refs/merge-requests/7/head": 7,
		"refs/pull/12/merge":         0,
		"refs/pull/x/head":           0,
		"refs/pull/0/head":           0,
		"refs/heads/pull/1/head":     0,
		"refs/pull/1234567890/head":  0,
	} {
		if got, _ := Number(ref); got != want {
			t.Errorf("Number(%q) = %d, want %d", ref, got, want)
		}
	}
}
