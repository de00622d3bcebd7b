package admin

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTokenPath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/run/user/1000/ebb/8081.token"},
		{map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/c/ebb/admin/8081.token"},
		{map[string]string{"HOME": "/h"}, "/h/.cache/ebb/admin/8081.token"},
	} {
		got, err := TokenPath(func(k string) string { return tc.env[k] }, 8081)
		if err != nil || got != tc.want {
			t.Errorf("TokenPath(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := TokenPath(func(string) string { return "" }, 8081); err == nil {
		t.Error("TokenPath without any directory in the environment succeeded")
	}
}

// TestWriteToken: the token file is this user's alone, and RemoveToken
// leaves a file another ebb up wrote since.
func TestWriteToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ebb", "8081.token")
	tok := NewToken()
	if len(tok) != 64 || tok == NewToken() {
		t.Fatalf("NewToken = %q: want 64 hex digits, different each time", tok)
	}
	if err := WriteToken(path, tok); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		st, err := os.Stat(p)
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, st.Mode(), err, want)
		}
	}
	if got, err := ReadToken(path); err != nil || got != tok {
		t.Errorf("ReadToken = %q, %v; want %q", got, err, tok)
	}
	RemoveToken(path, "another")
	if _, err := os.Stat(path); err != nil {
		t.Errorf("RemoveToken removed a token that was not its own: %v", err)
	}
	RemoveToken(path, tok)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("RemoveToken left its token: %v", err)
	}
}
