package webhook_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestPushTriggersSync: a signed GitHub push webhook makes a source that
// polls only hourly fetch the pushed commit at once.
func TestPushTriggersSync(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"app.yaml": "v: 1\n"})
	gitSrv := gittest.NewHTTPServer(t, root, gittest.HTTPOptions{})
	src, err := git.New(git.Config{URL: gitSrv.RepoURL("repo.git"), Ref: git.Ref{Branch: "main"}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	kicks := git.NewKicks()
	secret := []byte("hook-secret")
	rc, err := webhook.New(webhook.Config{Secret: secret, Refs: []string{"refs/heads/main"}, Trigger: func(webhook.Event) { kicks.Kick() }})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	commits := make(chan git.Commit, 10)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go src.Run(ctx, git.Poll{Interval: time.Hour}, kicks, func(ctx context.Context) {
		if c, changed, err := src.Fetch(ctx); err == nil && changed {
			commits <- c
		}
	})
	<-commits // the first sync, at start

	post := func(body string, sig []byte) int {
		req, _ := http.NewRequest(http.MethodPost, hook.URL, bytes.NewBufferString(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set(webhook.HeaderGitHubSignature, "sha256="+hex.EncodeToString(sig))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	user := gittest.Clone(t, gitSrv.RepoURL("repo.git"), "Other User")
	pushed := user.CommitAndPush(t, map[string]string{"app.yaml": "v: 2\n"}, "v2")

	// Refused and ignored hooks cause no sync: they come first, and the
	// next commit on the channel must be the one the valid hook fetched.
	body := `{"ref":"refs/heads/main","after":"` + pushed + `"}`
	if code := post(body, []byte("forged")); code != http.StatusUnauthorized {
		t.Errorf("forged hook: %d, want 401", code)
	}
	other := `{"ref":"refs/heads/other"}`
	if code := post(other, webhook.Sign(secret, []byte(other))); code != http.StatusNoContent {
		t.Errorf("other branch: %d, want 204", code)
	}
	if n := src.Status().Counters.Fetches; n != 1 {
		t.Errorf("refused and ignored hooks caused %d more fetches", n-1)
	}

	start := time.Now()
	if code := post(body, webhook.Sign(secret, []byte(body))); code != http.StatusAccepted {
		t.Fatalf("signed hook: %d, want 202", code)
	}
	select {
	case c := <-commits:
		if c.Hash != pushed {
			t.Errorf("synced %s, want %s", c.Hash, pushed)
		}
		t.Logf("push webhook → new commit in %v", time.Since(start))
	case <-time.After(30 * time.Second): // a bound for a hung test, not a timing assertion
		t.Fatal("no sync after the webhook")
	}
}
