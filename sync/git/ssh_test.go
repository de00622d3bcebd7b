package git

import (
	"context"
	"errors"
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
