package git

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ebb-dev/ebb/internal/gittest"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@git.example.com/r.git":  "https://user:redacted@git.example.com/r.git",
		"https://ghp_abc123@github.com/o/r.git":   "https://redacted@github.com/o/r.git",
		"HTTP://TOKEN@host/x":                     "HTTP://redacted@host/x",
		"https://u:p@ss@host/r":                   "https://u:redacted@host/r",
		"https://u:p%40ss@host/r":                 "https://u:redacted@host/r",
		"ssh://git@host:22/r.git":                 "ssh://git@host:22/r.git",
		"ssh://git:pw@host/r.git":                 "ssh://git:redacted@host/r.git",
		"git@github.com:o/r.git":                  "git@github.com:o/r.git",
		"https://host/r.git":                      "https://host/r.git",
		"mail me@example.com at https://host/a@b": "mail me@example.com at https://host/a@b",
		`Get "https://u:pw@h/r.git/info/refs?service=git-upload-pack": dial tcp: refused; then https://tok@h/r.git`: `Get "https://u:redacted@h/r.git/info/refs?service=git-upload-pack": dial tcp: refused; then https://redacted@h/r.git`,
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever the transport says, a source's errors and status never hold
// the credentials of its URL, and errors.Is still sees the cause.
func TestSourceErrorsAreRedacted(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "a: 1\n"})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "alice", Password: "s3cret-pw"})
	closed := gittest.UnreachableURL(t, "repo.git")
	tests := []struct {
		name, url, secret string
		is                error
	}{
		{"wrong password", gittest.WithUserinfo(srv.RepoURL("repo.git"), "alice:wr0ng-pw"), "wr0ng-pw", ErrAuth},
		{"token as user", gittest.WithUserinfo(srv.RepoURL("repo.git"), "ghp_t0ken"), "ghp_t0ken", ErrAuth},
		{"nothing listening", gittest.WithUserinfo(closed, "alice:s3cret-pw"), "s3cret-pw", nil},
		{"token, nothing listening", gittest.WithUserinfo(closed, "ghp_t0ken"), "ghp_t0ken", nil},
		{"no repository", gittest.WithUserinfo(srv.URL+"/missing.git", "alice:s3cret-pw"), "s3cret-pw", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{URL: tt.url, Ref: Ref{Branch: "main"}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.Fetch(context.Background())
			if err == nil {
				t.Fatal("fetch succeeded")
			}
			st := s.Status()
			for what, text := range map[string]string{"error": err.Error(), "status error": st.LastError, "status URL": st.URL} {
				if strings.Contains(text, tt.secret) {
					t.Errorf("%s holds the credential: %s", what, text)
				}
			}
			if !strings.Contains(err.Error(), "redacted@") {
				t.Errorf("error does not name the redacted URL: %v", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			_, _, err = s.WriteBack(context.Background(), Commit{Hash: strings.Repeat("0", 40)}, map[string][]byte{".ebb/a.yaml": []byte("x")}, "m", nil)
			if err == nil || strings.Contains(err.Error(), tt.secret) || strings.Contains(s.Status().LastError, tt.secret) {
				t.Errorf("write-back error %v, status %q", err, s.Status().LastError)
			}
		})
	}
}
