package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const planService = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - image: ko://example.com/hello
`

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "apps/hello/service.yaml", planService)
	ledger := filepath.Join(dir, ".ebb", "default", "hello.yaml")

	code, out, stderr := runCmd(t, "plan", dir)
	if code != exitOK || out != "default/hello: new revision hello-00001\ndefault/hello: hello-00001 at 100% (latestRevision)\n" {
		t.Fatalf("plan: exit %d, out %q, stderr %q", code, out, stderr)
	}
	if _, err := os.Stat(ledger); !os.IsNotExist(err) {
		t.Fatalf("plan without --write wrote the ledger (stat: %v)", err)
	}
	code, out, stderr = runCmd(t, "plan", "--commit", "abc123", "--time", "2026-11-22T04:00:00+01:00", dir, "--write")
	if code != exitOK || !strings.HasSuffix(out, "wrote .ebb/default/hello.yaml\n") {
		t.Fatalf("plan --write: exit %d, out %q, stderr %q", code, out, stderr)
	}
	good, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(good), "commit: abc123\n      time: \"2026-11-22T03:00:00Z\"\n") {
		t.Errorf("ledger lacks the stamp:\n%s", good)
	}
	if code, out, _ = runCmd(t, "plan", dir, "--write"); code != exitOK || out != "ledger is current\n" {
		t.Errorf("replan: exit %d, out %q", code, out)
	}

	// A bad tree: every error listed, exit 1, ledger bytes untouched.
	writeFile(t, dir, "apps/hello/service.yaml", planService+`  traffic:
    - percent: 90
      tag: a
    - revisionName: hello-00007
      percent: 0
      tag: a
      bogus: true
`)
	writeFile(t, dir, "apps/broken.yaml", "kind: [\n")
	code, out, stderr = runCmd(t, "plan", dir, "--write")
	want := []string{
		"apps/broken.yaml:1: did not find expected node content",
		"apps/hello/service.yaml:16: spec.traffic[1].bogus: unknown field",
	}
	if code != exitInvalid || out != "" {
		t.Errorf("bad tree: exit %d, out %q", code, out)
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSpace(stderr), "\n")); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	writeFile(t, dir, "apps/broken.yaml", "")
	writeFile(t, dir, "apps/hello/service.yaml", planService+`  traffic:
    - percent: 90
      tag: a
    - revisionName: hello-00001
      percent: 0
      tag: a
`)
	code, _, stderr = runCmd(t, "plan", dir, "--write")
	want = []string{
		"apps/hello/service.yaml:10: spec.traffic: Traffic targets sum to 90, want 100",
		`apps/hello/service.yaml:15: spec.traffic[0].tag, spec.traffic[1].tag: Multiple definitions for "a"`,
	}
	if code != exitInvalid {
		t.Errorf("bad traffic: exit %d", code)
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSpace(stderr), "\n")); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	writeFile(t, dir, "apps/hello/service.yaml", planService+`  traffic:
    - revisionName: hello-00007
      percent: 100
`)
	code, _, stderr = runCmd(t, "plan", dir, "--write")
	if code != exitInvalid || strings.TrimSpace(stderr) != `apps/hello/service.yaml:11: spec.traffic[0].revisionName: Revision "hello-00007" referenced in traffic not found.` {
		t.Errorf("unknown revision: exit %d, stderr %q", code, stderr)
	}
	writeFile(t, dir, "apps/hello/service.yaml", strings.Replace(planService, "  template:\n", `  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "5"
        autoscaling.knative.dev/max-scale: "2"
`, 1))
	code, _, stderr = runCmd(t, "plan", dir, "--write")
	if code != exitInvalid || strings.TrimSpace(stderr) != "apps/hello/service.yaml:10: spec.template.metadata.annotations.autoscaling.knative.dev/max-scale: max-scale=2 is less than min-scale=5" {
		t.Errorf("bad annotations: exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(ledger); string(after) != string(good) {
		t.Errorf("a failed plan changed the ledger:\n%s", after)
	}
}

func TestPlanUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"plan"},
		{"plan", dir, dir},
		{"plan", "--commit", "abc", dir},
		{"plan", "--commit", "abc", "--time", "yesterday", dir},
		{"plan", "--frob", dir},
		{"plan", filepath.Join(dir, "missing")},
	} {
		if code, _, stderr := runCmd(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, exitUsage)
		}
	}
}
