package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
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

const webhookSecret = "e2e-secret"

// startUpGit runs `ebb up URL` with its own cache directory, polling
// rarely: the test asks for every sync through the signed webhook.
func startUpGit(t *testing.T, url string, extra ...string) *upProcess {
	t.Helper()
	return launch(t, "", upGitEnv(t), append([]string{"up", url, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--poll", "1h"}, extra...)...)
}

// upGitEnv is the environment of an `ebb up URL`: a cache and a runtime
// directory of its own (Go's build cache stays shared), and the webhook
// secret.
func upGitEnv(t *testing.T) []string {
	t.Helper()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+t.TempDir(),
		"GOCACHE="+strings.TrimSpace(string(gocache)), "EBB_WEBHOOK_SECRET="+webhookSecret)
}

// kick tells ebb up of a push to ref, signed as a generic sender.
func (u *upProcess) kick(t *testing.T, ref string) {
	t.Helper()
	body := []byte(`{"ref":"` + ref + `"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+u.admin+"/v1/webhook", bytes.NewReader(body))
	req.Header.Set(webhook.HeaderGenericSignature, "sha256="+hex.EncodeToString(webhook.Sign([]byte(webhookSecret), body)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", resp.StatusCode)
	}
}

// source is the part of GET /v1/sources the tests read.
type source struct {
	Fetched    string    `json:"fetched"`
	Applied    string    `json:"applied"`
	LastError  string    `json:"lastError"`
	ErrorStage string    `json:"errorStage"`
	ReadOnly   bool      `json:"readOnly"`
	LastSync   time.Time `json:"lastSync"`
	WriteBacks int       `json:"writeBacks"`
	Previews   []struct {
		Ref, Tag, Error string
	} `json:"previews"`
	Forge *struct {
		Posted, Waiting, Rounds int
		LastError               string
	} `json:"forge"`
}

func (u *upProcess) source(t *testing.T) source {
	t.Helper()
	resp, err := client.Get("http://" + u.admin + "/v1/sources")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []source
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out) != 1 {
		t.Fatalf("GET /v1/sources: %v %+v", err, out)
	}
	return out[0]
}

// split counts the bodies of n requests for host.
func (u *upProcess) split(t *testing.T, host string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		code, body, err := u.get(host)
		if err != nil || code != 200 {
			t.Fatalf("GET %s: %d %q %v", host, code, body, err)
		}
		counts[body]++
	}
	return counts
}

// servingRepo is a bare repository on a smart HTTP server holding the
// hello example, with a go.work so its ko:// image builds.
func servingRepo(t *testing.T) (url, bare string) {
	t.Helper()
	return servingRepoWith(t, gittest.HTTPOptions{})
}

// servingRepoWith is servingRepo on a server that asks for o's
// credentials.
func servingRepoWith(t *testing.T, o gittest.HTTPOptions) (url, bare string) {
	t.Helper()
	root := t.TempDir()
	svc, err := os.ReadFile(filepath.Join(repoRoot, "examples/hello/service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gittest.NewBare(t, root, "serving.git", map[string]string{
		"apps/hello/service.yaml": string(svc),
		"config-autoscaler.yaml":  fastScaleToZero,
		"go.work":                 "go 1.26.0\n\nuse " + repoRoot + "\n",
	})
	srv := gittest.NewHTTPServer(t, root, o)
	return srv.RepoURL("serving.git"), filepath.Join(root, "serving.git")
}

func canaryService(target, traffic string) string {
	return helloWith(target, strings.TrimPrefix(traffic, "  traffic:\n"))
}

func trafficOf(pairs ...string) string {
	var b strings.Builder
	b.WriteString("  traffic:\n")
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i] == "latest" {
			b.WriteString("    - latestRevision: true\n")
		} else {
			fmt.Fprintf(&b, "    - revisionName: %s\n", pairs[i])
		}
		fmt.Fprintf(&b, "      percent: %s\n", pairs[i+1])
	}
	return b.String()
}

// within checks that body answered share% of n requests, ±5 points.
func within(t *testing.T, counts map[string]int, body string, share, n int) {
	t.Helper()
	got := counts[body] * 100 / n
	if got < share-5 || got > share+5 {
		t.Errorf("%q answered %d%% of %d requests, want %d%%±5 (%v)", body, got, n, share, counts)
	}
}

// readyRecorded waits until ebb's commit recording rev as ready (the
// latest ready revision, where latestRevision traffic goes) is main's
// head, and applied.
func readyRecorded(t *testing.T, u *upProcess, bare, rev string) {
	t.Helper()
	eventually(t, rev+" recorded ready", 2*time.Minute, func() string {
		head := gittest.Run(t, bare, "log", "-1", "--format=%H|%an|%s", "main")
		h, subject, _ := strings.Cut(head, "|")
		if subject != "ebb|ebb: revision "+rev+" is ready" {
			return head
		}
		if st := u.source(t); st.Applied != h {
			return "applied " + st.Applied
		}
		return ""
	})
}

func TestUpGitCanary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	url, bare := servingRepo(t)
	u := startUpGit(t, url)
	const host = "hello.default.svc.cluster.local"
	const world, ebb = "Hello World!\n", "Hello Ebb!\n"
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		if code, body, err := u.get(host); err != nil || code != 200 || body != world {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	readyRecorded(t, u, bare, "hello-00001")
	if first := gittest.Run(t, bare, "log", "-1", "--format=%an|%s", "main~1"); first != "ebb|ebb: new revision hello-00001 (and 1 more)" {
		t.Errorf("first ledger commit = %q", first)
	}
	if st := u.source(t); st.LastError != "" || st.WriteBacks != 2 {
		t.Errorf("source status %+v", st)
	}

	user := gittest.Clone(t, url, "alice")
	const svcPath = "apps/hello/service.yaml"
	var userCommits []string
	push := func(files map[string]string, msg string) {
		t.Helper()
		if out, err := user.Git("pull", "--rebase", "--quiet"); err != nil {
			t.Fatalf("pull: %v\n%s", err, out)
		}
		userCommits = append(userCommits, user.CommitAndPush(t, files, msg))
		u.kick(t, "refs/heads/main")
	}
	// applied waits for ebb's ledger commit on top of the last push, applied.
	applied := func(what string) {
		t.Helper()
		eventually(t, what+" applied", 2*time.Minute, func() string {
			head := gittest.Run(t, bare, "log", "-1", "--format=%H %an", "main")
			if st := u.source(t); !strings.HasSuffix(head, " ebb") || !strings.HasPrefix(head, st.Applied+" ") {
				return fmt.Sprintf("head %s, %+v", head, st)
			}
			return ""
		})
	}

	// A malformed push is reported with its place; the last good commit
	// keeps running and the ledger does not move.
	ledger := gittest.Run(t, bare, "show", "main:.ebb/default/hello.yaml")
	push(map[string]string{svcPath: canaryService("Ebb", trafficOf("hello-00001", "80", "latest", "10"))}, "hello: a split that sums to 90")
	eventually(t, "the bad push reported", time.Minute, func() string {
		st := u.source(t)
		if st.ErrorStage != "invalid" || !strings.Contains(st.LastError, svcPath+":") || !strings.Contains(st.LastError, "Traffic targets sum to 90, want 100") {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})
	if out, err := exec.Command(ebbBin, "get", "sources", "--admin", u.admin).Output(); err != nil || !strings.Contains(string(out), "Traffic targets sum to 90, want 100") || !strings.Contains(string(out), url) {
		t.Errorf("ebb get sources: %v\n%s", err, out)
	}
	if !strings.Contains(u.errOut(), svcPath+":") {
		t.Errorf("stderr does not name %s:\n%s", svcPath, u.errOut())
	}
	if got := gittest.Run(t, bare, "show", "main:.ebb/default/hello.yaml"); got != ledger {
		t.Error("the bad push changed the ledger")
	}
	if counts := u.split(t, host, 20); counts[world] != 20 {
		t.Errorf("after the bad push: %v", counts)
	}
	push(map[string]string{svcPath: "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: [\n"}, "hello: broken YAML")
	eventually(t, "the broken YAML reported", time.Minute, func() string {
		if st := u.source(t); st.ErrorStage != "invalid" || !strings.Contains(st.LastError, svcPath+":") || strings.Contains(st.LastError, "sum to 90") {
			return fmt.Sprintf("%+v", st)
		}
		return ""
	})

	// The canary: hello-00002 at 10%, hello-00001 pinned at 90%.
	push(map[string]string{svcPath: canaryService("Ebb", trafficOf("hello-00001", "90", "latest", "10"))}, "hello: Ebb at 10%")
	applied("the 10% canary")
	eventually(t, "hello-00002 answering", 2*time.Minute, func() string {
		if r, ok := u.revisions(t)["hello-00002"]; !ok || r.Percent != 10 {
			return fmt.Sprintf("%+v", u.revisions(t))
		}
		if _, body, _ := u.get(host); body != ebb {
			return "not yet"
		}
		return ""
	})
	counts := u.split(t, host, 1000)
	within(t, counts, ebb, 10, 1000)
	within(t, counts, world, 90, 1000)
	t.Logf("10%% step: %v", counts)

	push(map[string]string{svcPath: canaryService("Ebb", trafficOf("hello-00001", "50", "latest", "50"))}, "hello: Ebb at 50%")
	applied("the 50% step")
	counts = u.split(t, host, 1000)
	within(t, counts, ebb, 50, 1000)
	t.Logf("50%% step: %v", counts)

	push(map[string]string{svcPath: canaryService("Ebb", trafficOf("latest", "100"))}, "hello: Ebb at 100%")
	applied("the 100% step")
	if counts := u.split(t, host, 200); counts[ebb] != 200 {
		t.Errorf("at 100%%: %v", counts)
	}

	// git revert of the last step sends traffic back to 50/50; the old
	// revision is still in the ledger and runs again.
	if out, err := user.Git("pull", "--rebase", "--quiet"); err != nil {
		t.Fatalf("pull: %v\n%s", err, out)
	}
	if out, err := user.Git("revert", "--no-edit", userCommits[len(userCommits)-1]); err != nil {
		t.Fatalf("revert: %v\n%s", err, out)
	}
	if err := user.Push(); err != nil {
		t.Fatal(err)
	}
	revert, _ := user.Git("rev-parse", "HEAD")
	userCommits = append(userCommits, revert)
	u.kick(t, "refs/heads/main")
	applied("the revert")
	if r := u.revisions(t)["hello-00001"]; r.Percent != 50 {
		t.Errorf("after the revert hello-00001 at %d%%", r.Percent)
	}
	counts = u.split(t, host, 1000)
	within(t, counts, world, 50, 1000)
	t.Logf("after the revert: %v", counts)

	// Every user commit is on the branch, each canary step followed by
	// ebb's ledger commit.
	log := gittest.Run(t, bare, "log", "--reverse", "--format=%H %an %s", "main")
	for _, c := range userCommits {
		if !strings.Contains(log, c+" alice ") {
			t.Errorf("user commit %s lost:\n%s", c, log)
		}
	}
	for _, want := range []string{
		"ebb ebb: new revision hello-00002 (and 1 more)",
		"ebb ebb: hello-00001 at 50%, hello-00002 at 50% (latestRevision)",
		"ebb ebb: hello-00002 at 100% (latestRevision) (and 1 more)",
	} {
		if strings.Count(log, want) == 0 {
			t.Errorf("no ledger commit %q:\n%s", want, log)
		}
	}
	// The ledger commits' bodies list every change.
	bodies := gittest.Run(t, bare, "log", "--author=ebb", "--format=%B", "main")
	for _, want := range []string{
		"default/hello: hello-00001 at 90%, hello-00002 at 10% (latestRevision)",
		"default/hello: revision hello-00001 retired (no traffic, no tag)",
	} {
		if !strings.Contains(bodies, want) {
			t.Errorf("no ledger commit says %q:\n%s", want, bodies)
		}
	}
	t.Logf("branch:\n%s", log)
}

func TestUpGitPreview(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	url, bare := servingRepo(t)
	u := startUpGit(t, url, "--preview", "refs/heads/preview/*")
	const host, tagHost = "hello.default.svc.cluster.local", "preview-greeting-hello.default.svc.cluster.local"
	const world, preview = "Hello World!\n", "Hello Preview!\n"
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		if code, body, err := u.get(host); err != nil || code != 200 || body != world {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	readyRecorded(t, u, bare, "hello-00001")
	mainHead := gittest.Run(t, bare, "rev-parse", "main")
	ledger := gittest.Run(t, bare, "show", "main:.ebb/default/hello.yaml")

	// A preview branch gets a 0% revision under its own tag URL.
	user := gittest.Clone(t, url, "alice")
	if out, err := user.Git("checkout", "-q", "-b", "preview/greeting"); err != nil {
		t.Fatal(err, out)
	}
	user.Commit(t, map[string]string{"apps/hello/service.yaml": canaryService("Preview", "")}, "hello: try another greeting")
	if out, err := user.Git("push", "-q", "origin", "preview/greeting"); err != nil {
		t.Fatal(err, out)
	}
	u.kick(t, "refs/heads/preview/greeting")
	eventually(t, "the preview's tag URL answering", 2*time.Minute, func() string {
		if code, body, err := u.get(tagHost); err != nil || code != 200 || body != preview {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	if counts := u.split(t, host, 100); counts[world] != 100 {
		t.Errorf("main URL during the preview: %v", counts)
	}
	var previewRev string
	for name, r := range u.revisions(t) {
		if strings.HasPrefix(name, "hello-preview-greeting-") {
			previewRev = name
			if r.Percent != 0 {
				t.Errorf("preview revision %s at %d%%", name, r.Percent)
			}
		}
	}
	if previewRev == "" {
		t.Fatalf("no preview revision in %v", u.revisions(t))
	}
	if st := u.source(t); len(st.Previews) != 1 || st.Previews[0].Tag != "preview-greeting" {
		t.Errorf("source status previews %+v", st.Previews)
	}
	if got := gittest.Run(t, bare, "rev-parse", "main"); got != mainHead {
		t.Error("a preview moved the main branch")
	}
	if got := gittest.Run(t, bare, "show", "main:.ebb/default/hello.yaml"); got != ledger {
		t.Error("a preview changed the ledger")
	}

	// Idle, the preview scales to zero like any revision.
	eventually(t, "the preview at zero", 2*time.Minute, func() string {
		if r := u.revisions(t)[previewRev]; r.Desired != 0 || r.Actual != 0 {
			return fmt.Sprintf("%+v", r)
		}
		return ""
	})

	// Deleting the branch removes the tag and its revision.
	if out, err := user.Git("push", "-q", "origin", "--delete", "preview/greeting"); err != nil {
		t.Fatal(err, out)
	}
	u.kick(t, "refs/heads/preview/greeting")
	eventually(t, "the preview gone", time.Minute, func() string {
		if _, ok := u.revisions(t)[previewRev]; ok {
			return "revision still listed"
		}
		if code, body, _ := u.get(tagHost); code == 200 {
			return "tag URL still answers " + body
		}
		return ""
	})
	if counts := u.split(t, host, 20); counts[world] != 20 {
		t.Errorf("main URL after the preview: %v", counts)
	}
}

func TestUpGitReadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	url, bare := servingRepo(t)
	initial := gittest.Run(t, bare, "rev-parse", "main")
	u := startUpGit(t, url, "--read-only")
	const host = "hello.default.svc.cluster.local"
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		if code, body, err := u.get(host); err != nil || code != 200 || body != "Hello World!\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	eventually(t, "read-only mode announced on stdout and stderr", 10*time.Second, func() string {
		if !strings.Contains(u.out(), "READ-ONLY") || !strings.Contains(u.errOut(), "READ-ONLY") {
			return "not yet"
		}
		return ""
	})
	user := gittest.Clone(t, url, "alice")
	pushed := user.CommitAndPush(t, map[string]string{"apps/hello/service.yaml": canaryService("Ebb", trafficOf("hello-00001", "50", "latest", "50"))}, "hello: Ebb at 50%")
	u.kick(t, "refs/heads/main")
	eventually(t, "the split planned in memory", 2*time.Minute, func() string {
		if r := u.revisions(t)["hello-00002"]; r.Percent != 50 {
			return fmt.Sprintf("%+v", u.revisions(t))
		}
		return ""
	})
	counts := u.split(t, host, 1000)
	within(t, counts, "Hello Ebb!\n", 50, 1000)
	st := u.source(t)
	if !st.ReadOnly || st.Applied != pushed || st.WriteBacks != 0 {
		t.Errorf("source status %+v", st)
	}
	if log := gittest.Run(t, bare, "log", "--format=%H", "main"); log != pushed+"\n"+initial {
		t.Errorf("read-only ebb changed the branch:\n%s", log)
	}
	if out, err := exec.Command(ebbBin, "get", "sources", "--admin", u.admin).Output(); err != nil || !strings.Contains(string(out), "(read-only)") {
		t.Errorf("ebb get sources: %v\n%s", err, out)
	}
}

func TestUpGitSSH(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	_, bare := servingRepo(t)
	pem, signer := gittest.NewKey(t)
	srv := gittest.NewSSHServer(t, filepath.Dir(bare), signer.PublicKey())
	keys := t.TempDir()
	keyFile, knownHosts := filepath.Join(keys, "id_ed25519"), filepath.Join(keys, "known_hosts")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(knownHosts, []byte(srv.KnownHosts()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := startUpGit(t, srv.RepoURL(filepath.Base(bare)), "--ssh-key", keyFile, "--known-hosts", knownHosts)
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		if code, body, err := u.get("hello.default.svc.cluster.local"); err != nil || code != 200 || body != "Hello World!\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	readyRecorded(t, u, bare, "hello-00001")
	if head := gittest.Run(t, bare, "log", "-1", "--format=%an|%s", "main~1"); head != "ebb|ebb: new revision hello-00001 (and 1 more)" {
		t.Errorf("ledger commit over SSH = %q", head)
	}
	if st := u.source(t); st.LastError != "" || len(st.Previews) != 0 {
		t.Errorf("source status %+v", st)
	}
}
