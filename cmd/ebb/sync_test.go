package main

import (
	"bytes"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/internal/admin"
)

// TestSync runs `ebb sync` against an admin server like ebb up's, on
// loopback: with the token ebb up wrote for this user it kicks a sync,
// without it or with another one it does not.
func TestSync(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var kicks atomic.Int32
	mux := admin.NewMux(prometheus.NewRegistry())
	const token = "the-token"
	if err := (admin.Source{Kick: func() { kicks.Add(1) }, Sync: admin.Bearer(token)}).Mount(mux); err != nil {
		t.Fatal(err)
	}
	srv := admin.NewLocalServer(l.Addr(), mux)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	runtimeDir := t.TempDir()
	path, err := admin.TokenPath(func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": runtimeDir}[k] }, l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		token  string // written to the token file; "" writes none
		code   int
		kicks  int32
		output string
	}{
		{"no token file", "", exitInvalid, 0, "admin token"},
		{"another token", "not-it", exitInvalid, 0, "401 Unauthorized"},
		{"the token", token, exitOK, 1, "syncs now"},
	} {
		os.Remove(path)
		if tc.token != "" {
			if err := admin.WriteToken(path, tc.token); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(k string) string {
			return map[string]string{"XDG_RUNTIME_DIR": runtimeDir, "EBB_ADMIN": l.Addr().String()}[k]
		}}
		if code := run(t.Context(), []string{"sync"}, e); code != tc.code || !strings.Contains(out.String(), tc.output) {
			t.Errorf("%s: exit %d, %q; want %d and %q", tc.name, code, out.String(), tc.code, tc.output)
		}
		if got := kicks.Load(); got != tc.kicks {
			t.Errorf("%s: %d syncs so far, want %d", tc.name, got, tc.kicks)
		}
	}
}

// TestWebhookSecret: the secret comes from a file or the environment; on
// the command line it is refused, and the refusal does not repeat it.
func TestWebhookSecret(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		args    []string
		env     string
		want    string
		wantErr string
	}{
		{nil, "", "", ""},
		{nil, "from-env", "from-env", ""},
		{[]string{"--webhook-secret-file", file}, "from-env", "from-file", ""},
		{[]string{"--webhook-secret-file", empty}, "", "", "empty"},
		{[]string{"--webhook-secret-file", file + ".missing"}, "", "", "no such file"},
		{[]string{"--webhook-secret", "hunter2"}, "", "", "--webhook-secret-file FILE or $EBB_WEBHOOK_SECRET"},
		{[]string{"--webhook-secret=hunter2"}, "", "", "--webhook-secret-file FILE or $EBB_WEBHOOK_SECRET"},
	} {
		fs := flag.NewFlagSet("up", flag.ContinueOnError)
		g := addGitFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		got, err := g.webhookSecret(&env{getenv: func(k string) string {
			return map[string]string{"EBB_WEBHOOK_SECRET": tc.env}[k]
		}})
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%v: %q, %v; want %q, error %q", tc.args, got, err, tc.want, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v: the error repeats the secret: %v", tc.args, err)
		}
	}
	code, _, stderr := runCmd(t, "up", "https://git.example.com/serving.git", "--webhook-secret", "hunter2")
	if code != exitUsage || !strings.Contains(stderr, "--webhook-secret-file") || strings.Contains(stderr, "hunter2") {
		t.Errorf("ebb up --webhook-secret: exit %d, stderr %q", code, stderr)
	}
}
