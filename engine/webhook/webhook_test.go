package webhook

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// TestReceiverDeliveries: a verified delivery answered 2xx is remembered
// by its ID for the window, and a repeat is answered 200 "duplicate
// delivery" without a trigger; a delivery refused by the limit is not
// remembered, so its retry triggers.
func TestReceiverDeliveries(t *testing.T) {
	const push = `{"ref":"refs/heads/main"}`
	const other = `{"ref":"refs/heads/feature"}`
	github := func(id, body string) map[string]string {
		return map[string]string{"X-GitHub-Event": "push", HeaderGitHubSignature: "sha256=" + sig(body), HeaderGitHubDelivery: id}
	}
	generic := func(id, body string) map[string]string {
		return map[string]string{HeaderGenericSignature: "sha256=" + sig(body), HeaderGenericDelivery: id}
	}
	type delivery struct {
		at      int // seconds after the start
		headers map[string]string
		body    string
		limited bool // the limit refuses it
		code    int
		body2   string // the answer's body, when it says something
	}
	for _, tc := range []struct {
		name       string
		deliveries []delivery
		triggers   int
	}{
		{"repeat", []delivery{
			{at: 0, headers: github("d1", push), body: push, code: http.StatusAccepted},
			{at: 5, headers: github("d1", push), body: push, code: http.StatusOK, body2: "duplicate delivery\n"},
			{at: 6, headers: github("d2", push), body: push, code: http.StatusAccepted},
		}, 2},
		{"repeat after the window", []delivery{
			{at: 0, headers: github("d1", push), body: push, code: http.StatusAccepted},
			{at: 60, headers: github("d1", push), body: push, code: http.StatusAccepted},
		}, 2},
		{"the same ID from another sender", []delivery{
			{at: 0, headers: github("d1", push), body: push, code: http.StatusAccepted},
			{at: 1, headers: generic("d1", push), body: push, code: http.StatusAccepted},
		}, 2},
		{"a forged repeat is refused, not a duplicate", []delivery{
			{at: 0, headers: github("d1", push), body: push, code: http.StatusAccepted},
			{at: 1, headers: github("d1", other), body: push, code: http.StatusUnauthorized},
		}, 1},
		{"an ignored delivery is remembered too", []delivery{
			{at: 0, headers: github("d1", other), body: other, code: http.StatusNoContent},
			{at: 1, headers: github("d1", other), body: other, code: http.StatusOK},
		}, 0},
		{"a limited delivery is not remembered", []delivery{
			{at: 0, headers: generic("d1", push), body: push, limited: true, code: http.StatusTooManyRequests},
			{at: 3, headers: generic("d1", push), body: push, code: http.StatusAccepted},
			{at: 4, headers: generic("d1", push), body: push, code: http.StatusOK},
		}, 1},
		{"without an ID nothing is a duplicate", []delivery{
			{at: 0, headers: generic("", push), body: push, code: http.StatusAccepted},
			{at: 1, headers: generic("", push), body: push, code: http.StatusAccepted},
		}, 2},
		{"gitlab's idempotency key", []delivery{
			{at: 0, headers: map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3cret", HeaderGitLabIdempo: "k1", HeaderGitLabEventUUID: "u1"},
				body: push, code: http.StatusAccepted},
			{at: 1, headers: map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3cret", HeaderGitLabIdempo: "k1", HeaderGitLabEventUUID: "u2"},
				body: push, code: http.StatusOK},
			{at: 2, headers: map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3cret", HeaderGitLabEventUUID: "u3"},
				body: push, code: http.StatusAccepted},
			{at: 3, headers: map[string]string{"X-Gitlab-Event": "Push Hook", HeaderGitLabToken: "s3cret", HeaderGitLabEventUUID: "u3"},
				body: push, code: http.StatusOK},
		}, 2},
		{"gitea", []delivery{
			{at: 0, headers: map[string]string{"X-Gitea-Event": "push", HeaderGiteaSignature: sig(push), HeaderGiteaDelivery: "g1"}, body: push, code: http.StatusAccepted},
			{at: 1, headers: map[string]string{"X-Gitea-Event": "push", HeaderGiteaSignature: sig(push), HeaderGiteaDelivery: "g1"}, body: push, code: http.StatusOK},
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
			var now time.Time
			var limited bool
			triggers := 0
			rc, err := New(Config{Secret: secret, Refs: []string{"refs/heads/main"}, Trigger: func(Event) { triggers++ },
				DedupWindow: time.Minute,
				Limit: func(time.Time) time.Duration {
					if limited {
						return 1500 * time.Millisecond
					}
					return 0
				}})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tc.deliveries {
				now, limited = start.Add(time.Duration(d.at)*time.Second), d.limited
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(d.body))
				for k, v := range d.headers {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				rc.ServeAt(rec, req, now)
				if rec.Code != d.code {
					t.Errorf("delivery %d: status %d, want %d (%s)", i, rec.Code, d.code, rec.Body)
				}
				if d.body2 != "" && rec.Body.String() != d.body2 {
					t.Errorf("delivery %d: answered %q, want %q", i, rec.Body, d.body2)
				}
				if d.code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "2" {
					t.Errorf("delivery %d: Retry-After %q, want 2", i, rec.Header().Get("Retry-After"))
				}
			}
			if triggers != tc.triggers {
				t.Errorf("%d triggers, want %d", triggers, tc.triggers)
			}
		})
	}
}
