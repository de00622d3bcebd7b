//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/gittest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/runtime/cluster"
)

// helloWith is examples/hello's Service with TARGET set to target.
func helloWith(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "hello", "service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "value: World", "value: "+target, 1)
}

// TestControllerVerifiesCommits runs the controller as the install
// configures it for verified commits (EBB_VERIFY=ssh in the ConfigMap,
// allowed_signers and signing-key in the Secret ebb-git) against a real
// apiserver and a repository on disk: a signed head is applied and ebb's
// ledger commit on it is signed so that git verify-commit accepts it; an
// unsigned head leaves the source Stalled with the commit and the reason,
// through resyncs, and creates nothing; a later signed head is applied.
// The controller applies as itself: this test installs no tenant RBAC.
func TestControllerVerifiesCommits(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	c, cs := installedCluster(t)
	in := readInstall(t)
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"README": "unsigned first commit\n"})
	repo := filepath.Join(root, "repo.git")
	alice, ebbKey := gittest.NewSigningKey(t), gittest.NewSigningKey(t)
	user := gittest.Clone(t, repo, "Alice")
	user.SignWith(t, alice)
	signed := user.CommitAndPush(t, map[string]string{"service.yaml": helloWith(t, "Signed")}, "signed")

	podEnv := in.env(t, map[string]string{"allowed_signers": alice.AllowedSigner("alice@example.com", ""), "signing-key": string(ebbKey.PEM)},
		map[string]string{"EBB_REPO_URL": repo, "EBB_VERIFY": "ssh"}, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	out, done := &syncbuf.Buffer{}, make(chan int, 1)
	e := &env{stdout: out, stderr: out, getenv: func(k string) string {
		switch k {
		case "POD_NAME":
			return "ctl"
		case "POD_IP":
			return "10.3.0.1"
		case "EBB_SERVICE_ACCOUNT":
			return ""
		}
		return podEnv(k)
	}}
	go func() {
		done <- run(ctx, []string{"controller", "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0",
			"--cache-dir", filepath.Join(t.TempDir(), "cache"), "--poll", "200ms", "--resync", "1s", "--preview", "none"}, e)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("controller:\n%s", out.String())
		}
	})
	status := func() cluster.StatusDoc {
		doc, _ := cluster.ReadStatus(t.Context(), cs, "ebb-system", "main")
		return doc
	}
	deployments := func() []string {
		list, err := cs.AppsV1().Deployments("default").List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range list.Items {
			names = append(names, d.Name)
		}
		slices.Sort(names)
		return names
	}
	waitFor(t, "the signed head applied", func() string {
		if doc := status(); doc.Condition != cluster.Ready || doc.Commit == signed || doc.Commit == "" {
			return fmt.Sprintf("%+v, want Ready on ebb's ledger commit over %s", doc, signed)
		}
		return ""
	})
	good := status().Commit
	// ebb's ledger commit verifies with git itself, ebb's key trusted.
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowed, []byte(alice.AllowedSigner("alice@example.com", "")+ebbKey.AllowedSigner("ebb@example.com", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := gittest.RunErr(repo, nil, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", good); err != nil {
		t.Errorf("git verify-commit %s (ebb's ledger commit): %v %s", good, err, out)
	}
	running := deployments()
	if !slices.Equal(running, []string{"hello-00001-deployment"}) {
		t.Fatalf("deployments %v, want hello-00001's", running)
	}

	if _, err := user.Git("pull", "-q", "--rebase", "origin", "main"); err != nil {
		t.Fatal(err)
	}
	user.SignWith(t, gittest.SigningKey{})
	unsigned := user.CommitAndPush(t, map[string]string{"service.yaml": helloWith(t, "Unsigned")}, "unsigned")
	stalled := func() string {
		doc := status()
		if doc.Condition != cluster.Stalled || doc.Commit != good || doc.Attempted != unsigned ||
			!strings.Contains(doc.Message, "unverified: commit "+unsigned+": not signed by a trusted key: the commit is not signed") {
			return fmt.Sprintf("%+v", doc)
		}
		return ""
	}
	staysStalled(t, out, "the unsigned", stalled)
	var getOut, getErr bytes.Buffer
	code := run(t.Context(), []string{"get", "sources", "--kubeconfig=" + c.Kubeconfig}, &env{stdout: &getOut, stderr: &getErr, getenv: func(string) string { return "" }})
	if code != exitOK || !strings.Contains(getOut.String(), "Stalled") || !strings.Contains(getOut.String(), short(unsigned)) ||
		!strings.Contains(getOut.String(), "unverified: commit "+unsigned+": not signed by a trusted key") {
		t.Errorf("ebb get sources: exit %d\n%s%s", code, getOut.String(), getErr.String())
	}
	t.Logf("ebb get sources:\n%s", getOut.String())
	if got := deployments(); !slices.Equal(got, running) {
		t.Errorf("deployments %v after the unsigned head, want %v unchanged", got, running)
	}

	user.SignWith(t, alice)
	later := user.CommitAndPush(t, map[string]string{"service.yaml": helloWith(t, "Signed again")}, "signed again")
	waitFor(t, "the later signed head applied", func() string {
		doc := status()
		if doc.Condition != cluster.Ready || doc.Commit == good || doc.Commit == later || !slices.Contains(deployments(), "hello-00002-deployment") {
			return fmt.Sprintf("%+v, deployments %v", doc, deployments())
		}
		return ""
	})
}
