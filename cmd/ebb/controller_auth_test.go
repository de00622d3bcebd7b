//go:build unix

package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/gatewaycmd"
	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// TestControllerAdminAuth runs the controller's wiring against a real
// apiserver, so that every token is reviewed by it, and sends its admin
// address the fake stats that once scaled a revision, sync requests and
// a replayed webhook: only the gateway's ServiceAccount token for the
// controller's audience moves replicas, only a caller RBAC allows to
// create sources/sync syncs, and a delivery syncs once.
func TestControllerAdminAuth(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ebb-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{"ebb-gateway", "deployer"} {
		if _, err := cs.CoreV1().ServiceAccounts("ebb-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(sa string, audiences ...string) string {
		t.Helper()
		tr, err := cs.CoreV1().ServiceAccounts("ebb-system").CreateToken(ctx, sa,
			&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: audiences}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}

	repo := gitRepo(t)
	const secret = "hook-secret"
	out := &syncbuf.Buffer{}
	e := &env{stdout: out, stderr: out, getenv: func(k string) string {
		return map[string]string{"POD_NAME": "ctl", "EBB_REPO_URL": repo, "EBB_WEBHOOK_SECRET": secret}[k]
	}}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(cctx, []string{"controller", "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0", "--leader-elect=false",
			"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--read-only", "--poll", "1h", "--preview", "none"}, e)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("controller:\n%s", out.String())
		}
	})
	wait := func(what string, f func() string) { t.Helper(); waitFor(t, what, f) }
	var addr string
	replicas := func() int32 {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "hello-00001-deployment", metav1.GetOptions{})
		if err != nil || d.Spec.Replicas == nil {
			return -1
		}
		return *d.Spec.Replicas
	}
	wait("the controller applies the repository", func() string {
		if m := regexp.MustCompile(`admin=(127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		if addr == "" || replicas() < 0 {
			return "not yet"
		}
		return ""
	})
	send := func(method, path string, headers map[string]string, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	fetched := func() string {
		_, body := send("GET", "/v1/sources", nil, "")
		var srcs []struct{ Fetched string }
		json.Unmarshal([]byte(body), &srcs)
		if len(srcs) != 1 {
			return body
		}
		return srcs[0].Fetched
	}
	first, before := fetched(), replicas()
	b, _ := json.Marshal([]metric.Message{{Namespace: "default", Revision: "hello-00001",
		Stat: metric.Stat{PodName: "gw-1", AverageConcurrentRequests: 800, RequestCount: 800}}})
	fake := string(b)
	forged := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"sub":"system:serviceaccount:ebb-system:ebb-gateway","aud":["ebb-controller"]}`)) + ".c2ln"
	gateway, deployer := token("ebb-gateway", admin.Audience), token("deployer", admin.Audience)
	page := map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain", "Authorization": "Bearer " + gateway}
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		code       int
	}{
		{"stats without a token", metric.PushPath, nil, http.StatusUnauthorized},
		{"stats with the gateway's token for the API server", metric.PushPath, bearer(token("ebb-gateway")), http.StatusUnauthorized},
		{"stats with a forged token", metric.PushPath, bearer(forged), http.StatusUnauthorized},
		{"stats with another ServiceAccount's token", metric.PushPath, bearer(deployer), http.StatusForbidden},
		{"stats from a web page", metric.PushPath, page, http.StatusForbidden},
		{"sync without a token", "/v1/sync", nil, http.StatusUnauthorized},
		{"sync as the gateway", "/v1/sync", bearer(gateway), http.StatusForbidden},
		{"sync as a ServiceAccount RBAC does not allow", "/v1/sync", bearer(deployer), http.StatusForbidden},
		{"sync from a web page", "/v1/sync", page, http.StatusForbidden},
	} {
		if code, msg := send("POST", tc.path, tc.headers, fake); code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, code, msg, tc.code)
		}
	}

	// A push nobody announced is fetched once a caller RBAC allows asks.
	user := gittest.Clone(t, repo, "alice")
	pushed := user.CommitAndPush(t, map[string]string{"README.md": "hello\n"}, "readme")
	if got := fetched(); got != first {
		t.Errorf("refused sync requests fetched %s", got)
	}
	if _, err := cs.RbacV1().Roles("ebb-system").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ebb-sync"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"ebb.dev"}, Resources: []string{"sources/sync"}, Verbs: []string{"create"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings("ebb-system").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ebb-sync"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ebb-sync"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: "ebb-system"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wait("a sync by the deployer, now allowed", func() string {
		// A new token each time: the answer for the last one is cached.
		if code, msg := send("POST", "/v1/sync", bearer(token("deployer", admin.Audience)), ""); code != http.StatusAccepted {
			return fmt.Sprintf("%d %q", code, msg)
		}
		return ""
	})
	wait("the push fetched", func() string {
		if got := fetched(); got != pushed {
			return got
		}
		return ""
	})

	// Stats refused left replicas alone; the same stats sent as the
	// gateway sends them, with its token file, scale the revision.
	if got := replicas(); got != before {
		t.Errorf("refused stats moved replicas %d → %d", before, got)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(gateway), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := gatewaycmd.StatsSink("http://"+addr, tokenFile)
	var msgs []metric.Message
	json.Unmarshal([]byte(fake), &msgs)
	wait("the gateway's stats scale hello-00001", func() string {
		if err := sink.Send(ctx, msgs); err != nil {
			return err.Error()
		}
		if got := replicas(); got <= before {
			return fmt.Sprintf("replicas %d", got)
		}
		return ""
	})

	// A signed delivery syncs; the same delivery again does not.
	hook := `{"ref":"refs/heads/main"}`
	signed := map[string]string{webhook.HeaderGitHubSignature: "sha256=" + hex.EncodeToString(webhook.Sign([]byte(secret), []byte(hook))),
		"X-GitHub-Event": "push", webhook.HeaderGitHubDelivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
	if code, msg := send("POST", "/v1/webhook", signed, hook); code != http.StatusAccepted {
		t.Errorf("webhook: %d %q, want 202", code, msg)
	}
	if code, msg := send("POST", "/v1/webhook", signed, hook); code != http.StatusOK || msg != "duplicate delivery" {
		t.Errorf("replayed webhook: %d %q, want 200 duplicate delivery", code, msg)
	}
}
