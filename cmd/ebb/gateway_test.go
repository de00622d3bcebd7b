package main

import (
	"context"
	"encoding/json"
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
	b, err := json.Marshal(tab)
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
		done <- run(ctx, []string{"gateway", "--listen", "127.0.0.1:0", "--routes", routes, "--mode", "serve", "--drain", "0s",
			"--backend", "default/hello-00001=" + ul.Addr().String()},
			&env{stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }})
	}()
	addr := servingAddr(t, &stderr, gatewayServing)
	get := func(host string) (int, string, error) {
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
	if code, body, err := get("a.example.com"); err != nil || code != 200 || body != "hi" {
		t.Fatalf("a.example.com = %d %q, %v", code, body, err)
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
	if code := <-done; code != exitOK {
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
	code, out, _ := runCmd(t, "gateway", "--help")
	if code != exitOK || !strings.Contains(out, "in a Kubernetes cluster") || !strings.Contains(out, "--routes FILE") {
		t.Errorf("ebb gateway --help: exit %d, output:\n%s", code, out)
	}
}
