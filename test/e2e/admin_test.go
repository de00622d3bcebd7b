package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestUpAdminRefusesStrangers runs the built `ebb up URL` and sends its
// admin address what a web page, a rebound DNS name and a local script
// without the token would: nothing is scaled or synced. `ebb sync`, with
// the token `ebb up` wrote for its user, syncs; a replayed webhook
// delivery is answered as a duplicate and syncs nothing.
func TestUpAdminRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	url, bare := servingRepo(t)
	env := upGitEnv(t)
	u := launch(t, "", env, "up", url, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--poll", "1h")
	eventually(t, "the first commit applied", 2*time.Minute, func() string {
		if st := u.source(t); st.Applied == "" || st.Applied != gittest.Run(t, bare, "rev-parse", "main") {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	_, port, _ := net.SplitHostPort(u.admin)
	send := func(method, path, host string, headers map[string]string, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+u.admin+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	// What scaled a revision 0 → 8 before: fake stats, from a page and
	// from a script.
	fake := `[{"namespace":"default","revision":"hello-00001","stat":{"podName":"x","averageConcurrentRequests":800,"requestCount":800}}]`
	page := map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}
	for _, tc := range []struct {
		name, method, path, host string
		headers                  map[string]string
		body                     string
		code                     int
	}{
		{"stats from a page", "POST", "/v1/stats", "", page, fake, http.StatusForbidden},
		{"stats from a script", "POST", "/v1/stats", "", nil, fake, http.StatusNotFound},
		{"sync from a page", "POST", "/v1/sync", "", page, "", http.StatusForbidden},
		{"sync without the token", "POST", "/v1/sync", "", nil, "", http.StatusUnauthorized},
		{"sync with another token", "POST", "/v1/sync", "", map[string]string{"Authorization": "Bearer 0123"}, "", http.StatusUnauthorized},
		{"status through a rebound name", "GET", "/v1/sources", "rebind.evil.example:" + port, nil, "", http.StatusForbidden},
		{"status read by a page", "GET", "/v1/services", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "", http.StatusForbidden},
		{"status for ebb get", "GET", "/v1/services", "localhost:" + port, nil, "", http.StatusOK},
	} {
		if code, body := send(tc.method, tc.path, tc.host, tc.headers, tc.body); code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, code, body, tc.code)
		}
	}
	if rev := u.revisions(t)["hello-00001"]; rev.Desired > 1 {
		t.Errorf("hello-00001 wants %d pods after fake stats", rev.Desired)
	}

	// A push nobody announced: the refused requests above synced nothing,
	// ebb sync does.
	user := gittest.Clone(t, url, "alice")
	pushed := user.CommitAndPush(t, map[string]string{"README.md": "hello\n"}, "readme")
	for _, h := range []map[string]string{nil, page} {
		send("POST", "/v1/sync", "", h, "")
	}
	if st := u.source(t); st.Fetched == pushed {
		t.Errorf("a refused sync request fetched %s", pushed)
	}
	sync := func() (string, error) {
		cmd := exec.Command(ebbBin, "sync", "--admin", u.admin)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sync(); err != nil || !strings.Contains(out, "syncs now") {
		t.Fatalf("ebb sync: %v\n%s", err, out)
	}
	eventually(t, "the push fetched after ebb sync", time.Minute, func() string {
		if st := u.source(t); st.Fetched != pushed {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	// The token is this user's alone; another user's environment has none.
	var runtimeDir string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_RUNTIME_DIR="); ok {
			runtimeDir = v
		}
	}
	if st, err := os.Stat(filepath.Join(runtimeDir, "ebb", port+".token")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the token file: %v, %v; want mode 0600", st, err)
	}
	cmd := exec.Command(ebbBin, "sync", "--admin", u.admin)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "admin token") {
		t.Errorf("ebb sync without the token: %v\n%s", err, out)
	}

	// A signed delivery, then the same delivery again: the second syncs
	// nothing.
	body := []byte(`{"ref":"refs/heads/main"}`)
	signed := map[string]string{webhook.HeaderGenericSignature: "sha256=" + hex.EncodeToString(webhook.Sign([]byte(webhookSecret), body)),
		webhook.HeaderGenericDelivery: "delivery-1"}
	if code, msg := send("POST", "/v1/webhook", "", signed, string(body)); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %q, want 202", code, msg)
	}
	pushed = user.CommitAndPush(t, map[string]string{"README.md": "hello again\n"}, "readme again")
	if code, msg := send("POST", "/v1/webhook", "", signed, string(body)); code != http.StatusOK || msg != "duplicate delivery" {
		t.Errorf("replayed webhook: %d %q, want 200 duplicate delivery", code, msg)
	}
	if st := u.source(t); st.Fetched == pushed {
		t.Errorf("a replayed delivery fetched %s", pushed)
	}
}
