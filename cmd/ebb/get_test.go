package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/sync"
)

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		created time.Time
		want    string
	}{
		{now.Add(-45 * time.Second), "45s"},
		{now.Add(-12 * time.Minute), "12m"},
		{now.Add(-5 * time.Hour), "5h"},
		{now.Add(-72 * time.Hour), "3d"},
		{now.Add(time.Minute), "0s"},
		{time.Unix(0, 0), "-"},
	} {
		if got := age(now.Sub(tt.created)); got != tt.want {
			t.Errorf("age since %v = %q, want %q", tt.created, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	long := strings.Repeat("x", maxCell+10)
	for _, tt := range []struct {
		in, want string
	}{
		{"", ""},
		{"ExitCode1", "ExitCode1"},
		{"a.yaml:1: spec: bad\n", "a.yaml:1: spec: bad"},
		{"a.yaml:1: spec: bad\nb.yaml:2: spec: worse", "a.yaml:1: spec: bad (+1 more line)"},
		{"build ko://example.com/app: exit status 1\n./main.go:3:1: syntax error\n./main.go:9:2: undefined: x\n",
			"build ko://example.com/app: exit status 1 (+2 more lines)"},
		{long, strings.Repeat("x", maxCell-1) + "…"},
		{long + "\nmore", strings.Repeat("x", maxCell-1) + "… (+1 more line)"},
		{strings.Repeat("é", maxCell), strings.Repeat("é", maxCell)},
	} {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A reason is one line in the table, and whole after it.
func TestWriteServiceTable(t *testing.T) {
	build := "BuildFailed: build ko://example.com/app: exit status 1\n./main.go:3:1: syntax error\n./main.go:9:2: undefined: x"
	svcs := []sync.ServiceStatus{{Namespace: "default", Name: "hello", URL: "http://hello.default.svc.cluster.local", Latest: "hello-00002",
		Ready: sync.False, Reason: "revision hello-00002: " + build,
		Revisions: []sync.RevisionStatus{
			{Name: "hello-00002", Generation: 2, Created: time.Unix(0, 0), Tags: []string{"next"}, Ready: sync.False, Reason: build},
			{Name: "hello-00001", Generation: 1, Created: time.Unix(0, 0), Percent: 100, Desired: 1, Actual: 1, Ready: sync.True},
		}}}
	for _, tt := range []struct {
		kind, want string
	}{
		{kindServices, `NAMESPACE   NAME    URL                                      LATEST        READY   REASON
default     hello   http://hello.default.svc.cluster.local   hello-00002   False   revision hello-00002: BuildFailed: build ko://example.com/app: exit status 1 (+2 more lines)

service default/hello:
revision hello-00002: BuildFailed: build ko://example.com/app: exit status 1
./main.go:3:1: syntax error
./main.go:9:2: undefined: x
`},
		{kindRevisions, `NAME          SERVICE   TRAFFIC   TAGS   GENERATION   AGE   DESIRED/ACTUAL   READY   REASON
hello-00002   hello               next   2            -     0/0              False   BuildFailed: build ko://example.com/app: exit status 1 (+2 more lines)
hello-00001   hello     100%             1            -     1/1              True

revision default/hello-00002:
BuildFailed: build ko://example.com/app: exit status 1
./main.go:3:1: syntax error
./main.go:9:2: undefined: x
`},
	} {
		var b strings.Builder
		writeServiceTable(&b, tt.kind, svcs, time.Now())
		var got []string
		for line := range strings.Lines(b.String()) {
			got = append(got, strings.TrimRight(line, " \n")+"\n")
		}
		if diff := cmp.Diff(tt.want, strings.Join(got, "")); diff != "" {
			t.Errorf("ebb get %s (-want +got):\n%s", tt.kind, diff)
		}
	}
}
