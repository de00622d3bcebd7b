package gittest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Branch is the branch every repository made here starts on.
const Branch = "main"

// GitPath returns the git binary, skipping the test when it is missing
// locally and failing it when EBB_FULL_TEST=1 asks for every test to run.
func GitPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("EBB_FULL_TEST") == "1" {
			t.Fatalf("git is required (EBB_FULL_TEST=1): %v", err)
		}
		t.Skipf("git not installed: %v", err)
	}
	return p
}

// Env is the environment every git command started here runs with: no
// user or system configuration, a fixed identity.
func Env(name, email string) []string {
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_AUTHOR_NAME=" + name,
		"GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name,
		"GIT_COMMITTER_EMAIL=" + email,
		"GIT_TERMINAL_PROMPT=0",
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Run runs git in dir and returns its trimmed standard output.
func Run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := RunErr(dir, Env("Test User", "user@example.com"), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunErr runs git in dir with env and returns its trimmed standard output,
// or an error that carries its standard error.
func RunErr(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// NewBare makes a bare repository at root/name whose branch main holds one
// commit with files (slash paths to contents), allows pushes over smart
// HTTP, and returns the commit's hash.
func NewBare(t testing.TB, root, name string, files map[string]string) string {
	t.Helper()
	GitPath(t)
	bare := filepath.Join(root, name)
	Run(t, root, "init", "-q", "--bare", "-b", Branch, bare)
	Run(t, bare, "config", "http.receivepack", "true")
	work := t.TempDir()
	Run(t, work, "init", "-q", "-b", Branch)
	WriteFiles(t, work, files)
	Run(t, work, "add", "-A")
	Run(t, work, "commit", "-q", "-m", "initial")
	Run(t, work, "push", "-q", bare, "HEAD:refs/heads/"+Branch)
	return Run(t, work, "rev-parse", "HEAD")
}

// WriteFiles writes files (slash paths to contents) under dir; an empty
// content removes the file.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if files[name] == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Client is a working clone made with the git CLI: another user of the
// repository, pushing commits of their own.
type Client struct {
	Dir string
	URL string
	env []string
}

// Clone clones url into a new directory as user name.
func Clone(t testing.TB, url, name string) *Client {
	t.Helper()
	GitPath(t)
	c := &Client{Dir: t.TempDir(), URL: url, env: Env(name, strings.ToLower(strings.ReplaceAll(name, " ", "."))+"@example.com")}
	if _, err := RunErr(c.Dir, c.env, "clone", "-q", "-b", Branch, url, "."); err != nil {
		t.Fatal(err)
	}
	return c
}

// Git runs git in the clone.
func (c *Client) Git(args ...string) (string, error) {
	return RunErr(c.Dir, c.env, args...)
}

// Commit writes files and commits them with msg, returning the new hash.
func (c *Client) Commit(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	WriteFiles(t, c.Dir, files)
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "--allow-empty", "-m", msg}} {
		if _, err := c.Git(args...); err != nil {
			t.Fatal(err)
		}
	}
	h, err := c.Git("rev-parse", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Push pushes the clone's branch without force.
func (c *Client) Push() error {
	_, err := c.Git("push", "-q", "origin", "HEAD:refs/heads/"+Branch)
	return err
}

// PushRebasing pushes, and on a rejection rebases on the remote branch and
// tries again, at most attempts times.
func (c *Client) PushRebasing(attempts int) error {
	var err error
	for range attempts {
		if err = c.Push(); err == nil {
			return nil
		}
		if _, perr := c.Git("pull", "-q", "--rebase", "origin", Branch); perr != nil {
			return perr
		}
	}
	return fmt.Errorf("push after %d attempts: %w", attempts, err)
}

// CommitAndPush commits files and pushes, returning the commit's hash.
func (c *Client) CommitAndPush(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	c.Commit(t, files, msg)
	if err := c.PushRebasing(1); err != nil {
		t.Fatal(err)
	}
	h, _ := c.Git("rev-parse", "HEAD")
	return h
}
