package e2e

import (
	"fmt"
	"io"
	"os/exec"
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
	url, _ := servingRepoWith(t, gittest.HTTPOptions{Username: "alice", Password: "s3cret-pw"})
	closed := gittest.UnreachableURL(t, "serving.git")

	for _, tc := range []struct {
		name, url, secret, want string
	}{
		{"password", gittest.WithUserinfo(url, "alice:s3cret-pw"), "s3cret-pw", ""},
		{"wrong password", gittest.WithUserinfo(url, "alice:wr0ng-pw"), "wr0ng-pw", "authentication failed"},
		{"token, nothing there", gittest.WithUserinfo(closed, "ghp_t0ken"), "ghp_t0ken", "connection refused"},
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
