package gatewaycmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/proxy/route"
)

func TestGatewayFlags(t *testing.T) {
	o, err := gatewayFlags([]string{"--routes", "r.json", "--mode", "serve", "--backend", "default/hello-00001=127.0.0.1:1,127.0.0.1:2", "--backend", "default/hello-00002=127.0.0.1:3"})
	if err != nil {
		t.Fatal(err)
	}
	want := backendFlags{{"default", "hello-00001"}: {"127.0.0.1:1", "127.0.0.1:2"}, {"default", "hello-00002"}: {"127.0.0.1:3"}}
	if diff := cmp.Diff(want, o.backends); diff != "" {
		t.Errorf("backends (-want +got):\n%s", diff)
	}
	if o.mode != route.Serve {
		t.Errorf("--mode serve: mode %v", o.mode)
	}
	for _, bad := range [][]string{
		{},
		{"--routes", "r.json", "--mode", "fast"},
		{"--routes", "r.json", "--backend", "hello=127.0.0.1:1"},
		{"--routes", "r.json", "--backend", "default/hello=nohostport"},
	} {
		if _, err := gatewayFlags(bad); err == nil {
			t.Errorf("gatewayFlags(%q) = nil error", bad)
		}
	}
}

func writeRoutes(t *testing.T, path, host string) {
	t.Helper()
	tab := route.Table{
		Routes: []route.Route{{Namespace: "default", Name: "hello", Rules: []route.Rule{{Hosts: []string{host},
			Paths: []route.Path{{Splits: []route.Split{{Namespace: "default", Revision: "hello-00001", Percent: 100}}}}}}}},
		Revisions: []route.Revision{{Namespace: "default", Name: "hello-00001"}},
	}
	b, err := route.Encode(tab)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// servingAddr is the address in the gateway's "gateway serving" log line.
func servingAddr(log string) string {
	for _, line := range strings.Split(log, "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "gateway serving" {
			return l.Addr
		}
	}
	return ""
}

// TestRunGateway serves a routes file with a static backend, then reloads
// the file.
func TestRunGateway(t *testing.T) {
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	user := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })}
	go user.Serve(ul)
	defer user.Close()
	routes := filepath.Join(t.TempDir(), "routes.json")
	writeRoutes(t, routes, "a.example.com")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, Env{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }},
			[]string{"--listen", "127.0.0.1:0", "--routes", routes, "--mode", "serve", "--drain", "0s",
				"--backend", "default/hello-00001=" + ul.Addr().String()})
	}()
	get := func(host string) (int, string, error) {
		addr := servingAddr(stderr.String())
		if addr == "" {
			return 0, "", errors.New("not serving yet")
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	for n := 0; ; n++ {
		code, body, err := get("a.example.com")
		if err == nil {
			if code != 200 || body != "hi" {
				t.Fatalf("a.example.com = %d %q", code, body)
			}
			break
		}
		if n > 2000 {
			t.Fatalf("gateway never answered: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, _, _ := get("b.example.com"); code != 404 {
		t.Errorf("b.example.com before reload = %d, want 404", code)
	}
	writeRoutes(t, routes, "b.example.com")
	for n := 0; ; n++ {
		if code, _, _ := get("b.example.com"); code == 200 {
			break
		}
		if n > 1000 {
			t.Fatal("route file never reloaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit code %d", code)
	}
}

func TestGatewayMode(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--routes", "r.json"}, true},
		{[]string{"--listen", ":1", "--routes=r.json"}, true},
		{[]string{"-routes", "r.json"}, true},
		{[]string{"--listen", ":1", "--kubeconfig", "k"}, false},
		{nil, false},
		{[]string{"--", "--routes"}, false},
		{[]string{"--routes-file", "x"}, false},
	} {
		if got := routesGiven(tc.args); got != tc.want {
			t.Errorf("routesGiven(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
	// Without --routes, ebb gateway is the cluster gateway: its usage.
	var out strings.Builder
	code := Run(context.Background(), Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }}, []string{"--help"})
	if code != ExitOK || !strings.Contains(out.String(), "in a Kubernetes cluster") || !strings.Contains(out.String(), "--routes FILE") {
		t.Errorf("ebb gateway --help: exit %d, output:\n%s", code, out.String())
	}
}
