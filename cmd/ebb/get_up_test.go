//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/serving"
)

// TestGetUp reads the Services and DomainMappings of an ebb up through
// its admin server, as tables, JSON and YAML.
func TestGetUp(t *testing.T) {
	u, err := newUp(t.TempDir(), &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }},
		slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.runtime.Close)
	d := planExample(t, "domain", serving.Stamp{Commit: "c1"})
	// A DomainMapping of a Service that is not there.
	gone := &serving.DomainMapping{}
	gone.Name, gone.Namespace, gone.Spec.Ref = "old.example.org", "default", serving.KReference{Kind: serving.KindService, Name: "gone"}
	d.Tree.DomainMappings = append(d.Tree.DomainMappings, gone)
	u.applied = func() *engine.Desired { return d }

	mux, err := u.adminHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := admin.NewLocalServer(l.Addr(), mux)
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("admin server: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	addr := l.Addr().String()
	get := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		if code := run(t.Context(), append([]string{"get", "--admin", addr}, args...), e); code != exitOK {
			t.Fatalf("get %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}

	wantRows := [][]string{
		{"NAMESPACE", "NAME", "URL", "SERVICE", "READY", "REASON"},
		{"default", "www.example.org", "http://www.example.org", "site", "True"},
		{"default", "old.example.org", "http://old.example.org", "gone", "False", "Service", `"gone"`, "has", "no", "routed", "revision"},
	}
	for _, kind := range []string{"domainmappings", "dm"} {
		if diff := cmp.Diff(wantRows, rows(get(kind))); diff != "" {
			t.Errorf("get %s (-want +got):\n%s", kind, diff)
		}
	}
	wantDMs := engine.DomainMappingStatuses(d)
	for _, format := range []string{"json", "yaml"} {
		var got []engine.DomainMappingStatus
		if err := yaml.Unmarshal([]byte(get("domainmappings", "-o", format)), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantDMs, got); diff != "" || len(got) != 2 {
			t.Errorf("get domainmappings -o %s (-want +got):\n%s", format, diff)
		}
	}
	// The YAML is the JSON's fields, as YAML.
	var asJSON, asYAML any
	if err := json.Unmarshal([]byte(get("services", "-o", "json")), &asJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(get("services", "-o", "yaml")), &asYAML); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(asJSON, asYAML); diff != "" || asJSON == nil {
		t.Errorf("get services -o yaml (-json +yaml):\n%s", diff)
	}
}
