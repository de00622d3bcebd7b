package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpGitRedactsCredentials: `ebb up URL` with the credentials in the
// URL (a password; a token as the user name) never prints them: not on
// standard output or error, not in `ebb get sources` (table and JSON),
// GET /v1/sources or GET /metrics, whether the source works, fails to
// authenticate, or is not there.
func TestUpGitRedactsCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	root := t.TempDir()
	svc, err := os.ReadFile(filepath.Join(repoRoot, "examples/hello/service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gittest.NewBare(t, root, "serving.git", map[string]string{
		"apps/hello/service.yaml": string(svc),
		"go.work":                 "go 1.26.0\n\nuse " + repoRoot + "\n",
	})
	srv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{Username: "alice", Password: "s3cret-pw"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/serving.git"
	l.Close()
	userinfo := func(url, info string) string { return strings.Replace(url, "http://", "http://"+info+"@", 1) }

	for _, tc := range []struct {
		name, url, secret, want string
	}{
		{"password", userinfo(srv.RepoURL("serving.git"), "alice:s3cret-pw"), "s3cret-pw", ""},
		{"wrong password", userinfo(srv.RepoURL("serving.git"), "alice:wr0ng-pw"), "wr0ng-pw", "authentication failed"},
		{"token, nothing there", userinfo(closed, "ghp_t0ken"), "ghp_t0ken", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startUpGit(t, tc.url, "--preview", "refs/heads/preview/*")
			eventually(t, "the first pass", 2*time.Minute, func() string {
				st := u.source(t)
				switch {
				case tc.want == "" && (st.Applied == "" || st.WriteBacks != 1):
					return fmt.Sprintf("%+v", st)
				case tc.want != "" && !strings.Contains(st.LastError, tc.want):
					return fmt.Sprintf("%+v", st)
				}
				return ""
			})
			seen := map[string]string{"stdout": u.out(), "stderr": u.errOut()}
			for _, args := range [][]string{{"get", "sources"}, {"get", "sources", "-o", "json"}} {
				out, _ := exec.Command(ebbBin, append(args, "--admin", u.admin)...).CombinedOutput()
				seen[strings.Join(args, " ")] = string(out)
			}
			for _, path := range []string{"/v1/sources", "/metrics"} {
				resp, err := client.Get("http://" + u.admin + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen["GET "+path] = string(b)
			}
			for what, text := range seen {
				if strings.Contains(text, tc.secret) {
					t.Errorf("%s holds the credential %q:\n%s", what, tc.secret, text)
				}
			}
			if !strings.Contains(seen["stdout"], "redacted@") || !strings.Contains(seen["get sources"], "redacted@") {
				t.Errorf("the redacted URL is not shown:\nstdout:\n%s\nget sources:\n%s", seen["stdout"], seen["get sources"])
			}
		})
	}
}
