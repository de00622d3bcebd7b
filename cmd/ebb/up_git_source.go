package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ebb-dev/ebb/engine/git"
)

// isGitSource reports whether arg names a Git repository to follow
// rather than a directory to run: a URL, the scp form user@host:path, or
// a bare repository on this machine. A Git work tree is a directory.
func isGitSource(arg string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "file://", "git://"} {
		if strings.HasPrefix(arg, p) {
			return true
		}
	}
	if at, colon := strings.Index(arg, "@"), strings.Index(arg, ":"); at > 0 && colon > at && !strings.Contains(arg[:colon], "/") {
		return true
	}
	for _, f := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(arg, f)); err != nil {
			return false
		}
	}
	return true
}

// parseRef reads --ref: a full ref name, a full commit hash, or a
// branch name.
func parseRef(ref string) git.Ref {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return git.Ref{Branch: b}
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return git.Ref{Tag: t}
	}
	if len(ref) == 40 && strings.Trim(ref, "0123456789abcdef") == "" {
		return git.Ref{Commit: ref}
	}
	return git.Ref{Branch: ref}
}

// isSSH reports whether url is reached over SSH.
func isSSH(url string) bool {
	return strings.HasPrefix(url, "ssh://") || (!strings.Contains(url, "://") && strings.Contains(url, "@"))
}

// sourceConfig turns the flags into a source configuration.
func (g *gitFlags) sourceConfig(e *env, url, cacheRoot string) (git.Config, error) {
	cfg := git.Config{URL: url, Ref: git.Ref{Branch: *g.branch, Tag: *g.tag, Commit: *g.commit},
		WriteBranch: *g.writeBranch, Author: git.Signature{Name: "ebb", Email: "ebb@localhost"}}
	if *g.ref != "" {
		if cfg.Ref != (git.Ref{}) {
			return cfg, fmt.Errorf("--ref and --branch/--tag/--commit: give one")
		}
		cfg.Ref = parseRef(*g.ref)
	}
	if cfg.Ref == (git.Ref{}) {
		cfg.Ref.Branch = "main"
	}
	if !strings.Contains(url, "://") && !strings.Contains(url, "@") {
		abs, err := filepath.Abs(url)
		if err != nil {
			return cfg, err
		}
		cfg.URL = abs
	}
	cfg.Auth = git.Auth{Username: *g.username, Password: e.getenv("EBB_GIT_PASSWORD"), BearerToken: e.getenv("EBB_GIT_TOKEN"),
		SSHKeyPassphrase: e.getenv("EBB_GIT_SSH_PASSPHRASE")}
	if *g.sshKey != "" {
		b, err := os.ReadFile(*g.sshKey)
		if err != nil {
			return cfg, fmt.Errorf("--ssh-key: %w", err)
		}
		cfg.Auth.SSHKey = b
		known := *g.known
		if known == "" {
			if home, err := os.UserHomeDir(); err == nil {
				known = filepath.Join(home, ".ssh", "known_hosts")
			}
		}
		if cfg.Auth.KnownHosts, err = os.ReadFile(known); err != nil {
			return cfg, fmt.Errorf("known_hosts: %w", err)
		}
	}
	if err := g.verify.configure(e, &cfg, *g.readOnly); err != nil {
		return cfg, err
	}
	sum := sha256.Sum256([]byte(cfg.URL + "\x00" + cfg.Ref.String()))
	cfg.CacheDir = filepath.Join(cacheRoot, hex.EncodeToString(sum[:8]), "repo.git")
	return cfg, nil
}
