package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func helloService(target string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: ko://example.test/hello
          env:
            - name: TARGET
              value: ` + target + "\n"
}

// TestGC plans three templates a day apart, then collects with min 0 and
// a 15h retain time: the oldest two go, the routed latest stays.
func TestGC(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "config-gc.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  min-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: 15h
`)
	for i, target := range []string{"one", "two", "three"} {
		writeFile(t, dir, "hello.yaml", helloService(target))
		day := []string{"2026-01-01", "2026-01-02", "2026-01-03"}[i]
		if code, _, stderr := runCmd(t, "plan", dir, "--write", "--commit", "c"+target, "--time", day+"T00:00:00Z"); code != exitOK {
			t.Fatalf("plan %s: exit %d: %s", target, code, stderr)
		}
	}
	ledgerFile := filepath.Join(dir, ".ebb/default/hello.yaml")
	before, err := os.ReadFile(ledgerFile)
	if err != nil {
		t.Fatal(err)
	}

	code, out, stderr := runCmd(t, "gc", dir, "--dry-run", "--now", "2026-01-03T12:00:00Z")
	if code != exitOK {
		t.Fatalf("gc --dry-run: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"hello-00001              collect  inactive for 15h0m0s or more",
		"hello-00002              keep     inactive for 12h0m0s, within retain-since-last-active-time (15h0m0s)",
		"hello-00003              keep     latest revision",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(ledgerFile); string(after) != string(before) {
		t.Error("--dry-run changed the ledger")
	}

	code, out, stderr = runCmd(t, "gc", dir, "--write", "--now", "2026-01-04T12:00:00Z")
	if code != exitOK {
		t.Fatalf("gc --write: exit %d: %s", code, stderr)
	}
	if want := "ebb gc: removed hello-00001, hello-00002 (inactive for 15h0m0s or more)\n"; out != want {
		t.Errorf("gc --write printed %q, want %q", out, want)
	}
	after, _ := os.ReadFile(ledgerFile)
	if strings.Contains(string(after), "hello-00001") || strings.Contains(string(after), "hello-00002") || !strings.Contains(string(after), "hello-00003") {
		t.Errorf("ledger after gc:\n%s", after)
	}
	// The collected ledger is what the tree plans to: nothing left to do.
	if code, out, _ := runCmd(t, "plan", dir); code != exitOK || !strings.Contains(out, "ledger is current") {
		t.Errorf("plan after gc: exit %d, %q", code, out)
	}
}

// TestGCCountsFromFirstSight: `ebb plan DIR` without --time stamps a
// retirement at the Unix epoch, which says nothing of when; `ebb gc`
// counts it from the run that first sees it, records that in the ledger
// file, and collects the revision only once the retain time has passed
// since.
func TestGCCountsFromFirstSight(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "config-gc.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-gc
  namespace: ebb-system
data:
  min-non-active-revisions: "0"
  retain-since-create-time: disabled
  retain-since-last-active-time: 1h
`)
	for _, target := range []string{"one", "two"} {
		writeFile(t, dir, "hello.yaml", helloService(target))
		if code, _, stderr := runCmd(t, "plan", dir, "--write"); code != exitOK {
			t.Fatalf("plan %s: exit %d: %s", target, code, stderr)
		}
	}
	ledgerFile := filepath.Join(dir, ".ebb/default/hello.yaml")
	for _, step := range []struct {
		now, want string
	}{
		{"2026-12-07T15:00:00Z", "ebb gc: first saw hello-00001 (no time recorded)\n"},
		{"2026-12-07T15:59:59Z", "nothing to collect\n"},
		{"2026-12-07T16:00:00Z", "ebb gc: removed hello-00001 (inactive for 1h0m0s or more)\n"},
	} {
		code, out, stderr := runCmd(t, "gc", dir, "--write", "--now", step.now)
		if code != exitOK || out != step.want {
			t.Errorf("gc --now %s: exit %d, printed %q, want %q; stderr %s", step.now, code, out, step.want, stderr)
		}
		if step.now == "2026-12-07T15:00:00Z" {
			if b, _ := os.ReadFile(ledgerFile); !strings.Contains(string(b), "time: \"2026-12-07T15:00:00Z\"") {
				t.Errorf("the first sight is not in the ledger:\n%s", b)
			}
		}
	}
}

func TestGCUsage(t *testing.T) {
	for _, args := range [][]string{{"gc"}, {"gc", "dir"}, {"gc", "dir", "--dry-run", "--write"}, {"gc", "dir", "--dry-run", "--now", "yesterday"}} {
		if code, _, _ := runCmd(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
