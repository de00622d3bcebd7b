package git

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ebb-dev/ebb/internal/gittest"
)

func TestFetchSSH(t *testing.T) {
	root := t.TempDir()
	head := gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "a\n"})
	key, signer := gittest.NewKey(t)
	srv := gittest.NewSSHServer(t, root, signer.PublicKey())
	otherKey, _ := gittest.NewKey(t)
	other := gittest.NewSSHServer(t, root, signer.PublicKey()) // another host key

	for _, tc := range []struct {
		name       string
		key        []byte
		knownHosts string
		wantErr    error
	}{
		{"authorized", key, srv.KnownHosts(), nil},
		{"hashed known_hosts", key, knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(srv.Addr))}, srv.HostKey), nil},
		{"key rejected", otherKey, srv.KnownHosts(), ErrAuth},
		{"host key mismatch", key, knownhosts.Line([]string{knownhosts.Normalize(srv.Addr)}, other.HostKey), ErrHostKeyMismatch},
		{"unknown host", key, other.KnownHosts(), ErrUnknownHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kh := tc.knownHosts
			s, err := New(Config{
				URL: srv.RepoURL("repo.git"), Ref: Ref{Branch: "main"}, CacheDir: t.TempDir(),
				Auth: Auth{SSHKey: tc.key, KnownHosts: []byte(kh + "\n")},
			})
			if err != nil {
				t.Fatal(err)
			}
			c, changed, err := s.Fetch(context.Background())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil || !changed || c.Hash != head {
				t.Fatalf("Fetch = %s, %v, %v; want %s", c.Hash, changed, err, head)
			}
		})
	}
}

func TestWriteBackSSH(t *testing.T) {
	root := t.TempDir()
	gittest.NewBare(t, root, "repo.git", map[string]string{"a.yaml": "a\n"})
	key, signer := gittest.NewKey(t)
	srv := gittest.NewSSHServer(t, root, signer.PublicKey())
	s := newWriteSource(t, srv.RepoURL("repo.git"), Config{Auth: Auth{SSHKey: key, KnownHosts: []byte(srv.KnownHosts())}})
	base, _ := mustFetch(t, s)
	c, written, err := s.WriteBack(context.Background(), base, map[string][]byte{".ebb/a.yaml": []byte("rev 1\n")}, "ebb: a", noReplan)
	if err != nil || !written {
		t.Fatalf("WriteBack over SSH = %v, %v", written, err)
	}
	if got := gittest.Run(t, filepath.Join(root, "repo.git"), "rev-parse", "main"); got != c.Hash {
		t.Errorf("branch at %s, want %s", got, c.Hash)
	}
}

func TestParseScheme(t *testing.T) {
	for raw, want := range map[string]scheme{
		"https://git.example.com/org/repo.git": schemeHTTP,
		"http://127.0.0.1:8080/repo":           schemeHTTP,
		"ssh://git@git.example.com:2222/r.git": schemeSSH,
		"git@github.com:org/repo.git":          schemeSSH,
		"file:///srv/git/repo.git":             schemeLocal,
		"/srv/git/repo.git":                    schemeLocal,
		"./relative/repo":                      schemeLocal,
	} {
		got, err := parseScheme(raw)
		if err != nil || got != want {
			t.Errorf("parseScheme(%q) = %v, %v; want %v", raw, got, err, want)
		}
	}
	if _, err := parseScheme("ftp://x/r"); err == nil {
		t.Error("parseScheme(ftp://…) succeeded")
	}
}
