// Package forgetest plays a forge's REST API for tests: the commit status
// and pull-request comment endpoints of GitHub, GitLab and Gitea/Forgejo,
// exactly as each documents them (paths, field names, states, answer
// codes), and pull requests given as JSON, on 127.0.0.1. No forge can run
// on the test machine.
package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"unicode/utf8"
)

// Kind is the forge played: "github", "gitlab" or "gitea".
type Kind string

// Status is a commit status as the forge stores it, in its own words
// (GitLab: "failed" for failure).
type Status struct {
	Context, State, Description, TargetURL string
}

// Request is one request the server answered.
type Request struct {
	Method, Path string
	Code         int
}

// Failure is an answer to give instead of the real one.
type Failure struct {
	Code    int
	Header  http.Header
	Message string
}

// Server plays one forge for one repository.
type Server struct {
	// API is the REST API's base URL (http://127.0.0.1:PORT/api/v3 for
	// GitHub, /api/v4 for GitLab, /api/v1 for Gitea).
	API   string
	Kind  Kind
	Repo  string
	Token string

	mu       gosync.Mutex
	statuses map[string][]Status // commit → every status posted, oldest first
	comments map[int][]*Comment  // pull request → its comments
	pulls    map[int]string      // pull request → its JSON
	nextID   int
	requests []Request
	fail     []Failure
}

// Comment is a pull-request comment (GitLab: a merge request note).
type Comment struct {
	ID   int
	Body string
}

// New starts a forge of kind for repository owner/name whose API takes
// token, stopped when the test ends.
func New(t testing.TB, kind Kind, repo, token string) *Server {
	s := &Server{Kind: kind, Repo: repo, Token: token, statuses: map[string][]Status{}, comments: map[int][]*Comment{}, pulls: map[int]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.API = srv.URL + map[Kind]string{"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}[kind]
	return s
}

// FailNext makes the next len(fs) requests answer fs, in order.
func (s *Server) FailNext(fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = append(s.fail, fs...)
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Posted returns every status posted on commit, oldest first.
func (s *Server) Posted(commit string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses[commit])
}

// Comments returns pull request n's comments.
func (s *Server) Comments(n int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[n] {
		out = append(out, *c)
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code, body := s.answer(w, r)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Code: code})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func msg(m string) map[string]string { return map[string]string{"message": m} }

// answer handles one request; the caller holds s.mu.
func (s *Server) answer(w http.ResponseWriter, r *http.Request) (int, any) {
	if len(s.fail) > 0 {
		f := s.fail[0]
		s.fail = s.fail[1:]
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		return f.Code, msg(f.Message)
	}
	want := "Bearer " + s.Token
	if s.Kind == "gitea" {
		want = "token " + s.Token
	}
	if r.Header.Get("Authorization") != want {
		return http.StatusUnauthorized, msg("Bad credentials")
	}
	path := r.URL.EscapedPath()
	var rest string
	var ok bool
	switch s.Kind {
	case "gitlab":
		rest, ok = strings.CutPrefix(path, "/api/v4/projects/"+url.PathEscape(s.Repo)+"/")
	case "github":
		rest, ok = strings.CutPrefix(path, "/api/v3/repos/"+s.Repo+"/")
	case "gitea":
		rest, ok = strings.CutPrefix(path, "/api/v1/repos/"+s.Repo+"/")
	}
	if !ok {
		return http.StatusNotFound, msg("Not Found")
	}
	parts := strings.Split(rest, "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "statuses":
		return s.postStatus(r, parts[1])
	case r.Method == http.MethodGet && s.Kind != "gitlab" && len(parts) == 3 && parts[0] == "commits" && parts[2] == "status":
		return s.combined(parts[1])
	case r.Method == http.MethodGet && s.Kind == "gitlab" && len(parts) == 4 && parts[0] == "repository" && parts[1] == "commits" && parts[3] == "statuses":
		return s.gitlabList(parts[2])
	case r.Method == http.MethodGet && len(parts) == 2 && (parts[0] == "pulls" || parts[0] == "merge_requests"):
		n, _ := strconv.Atoi(parts[1])
		if body, ok := s.pulls[n]; ok {
			return http.StatusOK, json.RawMessage(body)
		}
		return http.StatusNotFound, msg("Not Found")
	}
	return s.comment(r, parts)
}

// states are the states each forge accepts.
var states = map[Kind][]string{
	"github": {"error", "failure", "pending", "success"},
	"gitea":  {"pending", "success", "error", "failure", "warning"},
	"gitlab": {"pending", "running", "success", "failed", "canceled"},
}

func (s *Server) postStatus(r *http.Request, sha string) (int, any) {
	var in struct {
		State       string `json:"state"`
		Context     string `json:"context"`
		Name        string `json:"name"` // GitLab
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return http.StatusBadRequest, msg(err.Error())
	}
	if !slices.Contains(states[s.Kind], in.State) {
		return http.StatusUnprocessableEntity, msg(fmt.Sprintf("state %q is not one of %v", in.State, states[s.Kind]))
	}
	st := Status{Context: in.Context, State: in.State, Description: in.Description, TargetURL: in.TargetURL}
	if s.Kind == "gitlab" {
		st.Context = in.Name
		// GitLab refuses a status that does not change the state.
		if cur, ok := s.latest(sha)[st.Context]; ok && cur.State == st.State {
			return http.StatusBadRequest, msg(fmt.Sprintf("Cannot transition status via :%s from :%s", st.State, cur.State))
		}
	}
	if s.Kind == "github" && utf8.RuneCountInString(st.Description) > 140 {
		return http.StatusUnprocessableEntity, msg("Validation Failed: description is too long (maximum is 140 characters)")
	}
	if st.Context == "" {
		st.Context = "default"
	}
	s.statuses[sha] = append(s.statuses[sha], st)
	return http.StatusCreated, map[string]any{"state": st.State, "context": st.Context, "description": st.Description, "target_url": st.TargetURL}
}

// latest is the newest status of each context on sha.
func (s *Server) latest(sha string) map[string]Status {
	out := map[string]Status{}
	for _, st := range s.statuses[sha] {
		out[st.Context] = st
	}
	return out
}

// combined is GitHub's and Gitea's combined status: the latest of each
// context, newest first; Gitea names the state "status".
func (s *Server) combined(sha string) (int, any) {
	var list []map[string]any
	for _, st := range s.latestOrdered(sha) {
		key := "state"
		if s.Kind == "gitea" {
			key = "status"
		}
		list = append(list, map[string]any{key: st.State, "context": st.Context, "description": st.Description, "target_url": st.TargetURL})
	}
	return http.StatusOK, map[string]any{"sha": sha, "total_count": len(list), "statuses": list}
}

// gitlabList is GitLab's list of a commit's latest statuses.
func (s *Server) gitlabList(sha string) (int, any) {
	list := []map[string]any{}
	for _, st := range s.latestOrdered(sha) {
		list = append(list, map[string]any{"status": st.State, "name": st.Context, "description": st.Description, "target_url": st.TargetURL, "sha": sha})
	}
	return http.StatusOK, list
}

func (s *Server) latestOrdered(sha string) []Status {
	var out []Status
	seen := map[string]bool{}
	all := s.statuses[sha]
	for i := len(all) - 1; i >= 0; i-- {
		if !seen[all[i].Context] {
			seen[all[i].Context] = true
			out = append(out, all[i])
		}
	}
	return out
}

// comment serves the comment endpoints; parts is the path after the
// repository. GitHub and Gitea: GET and POST issues/{n}/comments, PATCH
// issues/comments/{id}; GitLab: GET and POST merge_requests/{iid}/notes,
// PUT merge_requests/{iid}/notes/{id}.
func (s *Server) comment(r *http.Request, parts []string) (int, any) {
	var n, id int
	switch {
	case s.Kind != "gitlab" && len(parts) == 3 && parts[0] == "issues" && parts[2] == "comments":
		n, _ = strconv.Atoi(parts[1])
	case s.Kind != "gitlab" && len(parts) == 3 && parts[0] == "issues" && parts[1] == "comments" && r.Method == http.MethodPatch:
		id, _ = strconv.Atoi(parts[2])
	case s.Kind == "gitlab" && len(parts) == 3 && parts[0] == "merge_requests" && parts[2] == "notes":
		n, _ = strconv.Atoi(parts[1])
	case s.Kind == "gitlab" && len(parts) == 4 && parts[0] == "merge_requests" && parts[2] == "notes" && r.Method == http.MethodPut:
		n, _ = strconv.Atoi(parts[1])
		id, _ = strconv.Atoi(parts[3])
	default:
		return http.StatusNotFound, msg("Not Found")
	}
	var in struct {
		Body string `json:"body"`
	}
	if r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == "" {
			return http.StatusUnprocessableEntity, msg("body is missing")
		}
	}
	switch {
	case id > 0:
		for _, cs := range s.comments {
			for _, c := range cs {
				if c.ID == id {
					c.Body = in.Body
					return http.StatusOK, map[string]any{"id": c.ID, "body": c.Body}
				}
			}
		}
		return http.StatusNotFound, msg("Not Found")
	case r.Method == http.MethodPost:
		s.nextID++
		c := &Comment{ID: s.nextID, Body: in.Body}
		s.comments[n] = append(s.comments[n], c)
		return http.StatusCreated, map[string]any{"id": c.ID, "body": c.Body}
	case r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, c := range s.comments[n] {
			list = append(list, map[string]any{"id": c.ID, "body": c.Body})
		}
		if s.Kind == "gitlab" {
			slices.Reverse(list) // notes come newest first
		}
		return http.StatusOK, list
	}
	return http.StatusMethodNotAllowed, msg("Method Not Allowed")
}

// SetPullRequest serves body, the forge's JSON of pull request n, at
// GET …/pulls/n (GitLab: …/merge_requests/n).
func (s *Server) SetPullRequest(n int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls[n] = body
}

// AddComment adds a comment by someone else to pull request n.
func (s *Server) AddComment(n int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.comments[n] = append(s.comments[n], &Comment{ID: s.nextID, Body: body})
}
