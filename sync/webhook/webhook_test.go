package webhook

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var secret = []byte("s3cret")

func sig(body string) string { return hex.EncodeToString(Sign(secret, []byte(body))) }

func TestReceiver(t *testing.T) {
	const push = `{"ref":"refs/heads/main","after":"0123abcd"}`
	const other = `{"ref":"refs/heads/feature"}`
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		body    string
		code    int
		want    []Event
	}{
		{"github push", "", map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: "sha256=" + sig(push)}, push,
			http.StatusAccepted, []Event{{Provider: GitHub, Ref: "refs/heads/main", After: "0123abcd"}}},
		{"github other branch", "", map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: "sha256=" + sig(other)}, other,
			http.StatusNoContent, nil},
		{"github ping", "", map[string]string{"X-GitHub-Event": "ping", HeaderGitHubSignature: "sha256=" + sig(`{}`)}, `{}`,
			http.StatusNoContent, nil},
		{"github bad signature", "", map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: "sha256=" + sig(other)}, push,
			http.StatusUnauthorized, nil},
		{"github signature without prefix", "", map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: sig(push)}, push,
			http.StatusUnauthorized, nil},
		{"github signature not hex", "", map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: "sha256=zz"}, push,
			http.StatusUnauthorized, nil},
		{"no signature", "", map[string]string{"X-GitHub-Event": "push"}, push, http.StatusUnauthorized, nil},
		{"gitlab push", "", map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3cret"}, push,
			http.StatusAccepted, []Event{{Provider: GitLab, Ref: "refs/heads/main", After: "0123abcd"}}},
		{"gitlab wrong token", "", map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3creT"}, push,
			http.StatusUnauthorized, nil},
		{"gitlab merge request", "", map[string]string{"X-Gitlab-Event": "Merge Request Hook", HeaderGitLabToken: "s3cret"}, push,
			http.StatusNoContent, nil},
		{"gitea push", "", map[string]string{"X-Gitea-Event": "push", HeaderGiteaSignature: sig(push)}, push,
			http.StatusAccepted, []Event{{Provider: Gitea, Ref: "refs/heads/main", After: "0123abcd"}}},
		{"gitea bad signature", "", map[string]string{"X-Gitea-Event": "push", HeaderGiteaSignature: sig(push + " ")}, push,
			http.StatusUnauthorized, nil},
		{"generic push", "", map[string]string{HeaderGenericSignature: "sha256=" + sig(push)}, push,
			http.StatusAccepted, []Event{{Provider: Generic, Ref: "refs/heads/main", After: "0123abcd"}}},
		{"generic bad payload", "", map[string]string{HeaderGenericSignature: "sha256=" + sig(`[1]`)}, `[1]`,
			http.StatusBadRequest, nil},
		{"too large", "", map[string]string{HeaderGenericSignature: "sha256=" + sig(push)}, push + strings.Repeat(" ", 200),
			http.StatusRequestEntityTooLarge, nil},
		{"GET", http.MethodGet, nil, "", http.StatusMethodNotAllowed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Event
			rc, err := New(Config{Secret: secret, Refs: []string{"refs/heads/main"}, MaxBody: 200, Trigger: func(e Event) { got = append(got, e) }})
			if err != nil {
				t.Fatal(err)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/hooks/git", strings.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			rc.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tc.code, rec.Body)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("triggers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewNeedsSecretAndTrigger(t *testing.T) {
	if _, err := New(Config{Trigger: func(Event) {}}); err == nil {
		t.Error("New without a secret succeeded")
	}
	if _, err := New(Config{Secret: secret}); err == nil {
		t.Error("New without a trigger succeeded")
	}
}

// FuzzReceiver: no input makes the receiver panic, and nothing triggers
// without a valid signature.
func FuzzReceiver(f *testing.F) {
	f.Add("X-Hub-Signature-256", "sha256=00", "push", `{"ref":"refs/heads/main"}`)
	f.Add("X-Gitlab-Token", "s3cret", "Push Hook", `{"ref":1}`)
	f.Add("X-Ebb-Signature-256", "sha256="+sig(`{"ref":"x"}`), "", `{"ref":"x"}`)
	f.Fuzz(func(t *testing.T, header, value, event, body string) {
		triggered := 0
		rc, err := New(Config{Secret: secret, Trigger: func(Event) { triggered++ }})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if http.CanonicalHeaderKey(header) != "" && !strings.ContainsAny(header, "\r\n:") && !strings.ContainsAny(value, "\r\n") {
			req.Header.Set(header, value)
		}
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-Gitlab-Event", event)
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)
		if triggered > 0 && rec.Code != http.StatusAccepted {
			t.Errorf("triggered but answered %d", rec.Code)
		}
		valid := value == "sha256="+sig(body) || value == sig(body) || value == string(secret)
		if triggered > 0 && !valid {
			t.Errorf("triggered with header %q: %q", header, value)
		}
	})
}
