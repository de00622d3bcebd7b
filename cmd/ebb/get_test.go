package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving/canary"
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
	svcs := []engine.ServiceStatus{{Namespace: "default", Name: "hello", URL: "http://hello.default.svc.cluster.local", Latest: "hello-00002",
		Ready: engine.False, Reason: "revision hello-00002: " + build,
		Revisions: []engine.RevisionStatus{
			{Name: "hello-00002", Generation: 2, Created: time.Unix(0, 0), Tags: []string{"next"}, Ready: engine.False, Reason: build},
			{Name: "hello-00001", Generation: 1, Created: time.Unix(0, 0), Percent: 100, Desired: 1, Actual: 1, Ready: engine.True},
		}}}
	for _, tt := range []struct {
		kind, want string
	}{
		{kindServices, `NAMESPACE   NAME    URL                                      LATEST        READY   ROLLOUT   REASON
default     hello   http://hello.default.svc.cluster.local   hello-00002   False             revision hello-00002: BuildFailed: build ko://example.com/app: exit status 1 (+2 more lines)

service default/hello:
revision hello-00002: BuildFailed: build ko://example.com/app: exit status 1
./main.go:3:1: syntax error
./main.go:9:2: undefined: x
`},
		{kindRevisions, `NAME          SERVICE   TRAFFIC   ROLLOUT   TAGS   GENERATION   AGE   DESIRED/ACTUAL   READY   REASON
hello-00002   hello                         next   2            -     0/0              False   BuildFailed: build ko://example.com/app: exit status 1 (+2 more lines)
hello-00001   hello     100%                       1            -     1/1              True

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

// The rollout of each Service on one line, its whole reason after the
// table; each revision's part in it. What ebb up and the controller
// serve as JSON reads back the same.
func TestWriteServiceTableRollout(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	next := metav1.NewMicroTime(time.Date(2026, 12, 7, 12, 0, 12, 500000000, time.UTC))
	long := "not ready within 10m0s (progress-deadline)\nthe last pod: ExitCode1"
	svcs := []engine.ServiceStatus{
		{Namespace: "default", Name: "web", URL: "http://web.default.example.com", Latest: "web-00002", Ready: engine.True,
			Rollout: &engine.RolloutStatus{State: canary.State{Canary: "web-00002", Stable: "web-00001", Phase: canary.Progressing, Weight: 20, FailedChecks: 1,
				Started: started, NextCheck: &next, Last: &canary.Check{Canary: canary.Figures{Requests: 40, Failures: 1, P99: "12ms"}, Stable: canary.Figures{Requests: 160}}},
				Threshold: 2, Interval: "2s"},
			Revisions: []engine.RevisionStatus{
				{Name: "web-00002", Generation: 2, Created: time.Unix(0, 0), Percent: 20, Latest: true, Desired: 1, Actual: 1, Ready: engine.True, Rollout: engine.RoleCanary},
				{Name: "web-00001", Generation: 1, Created: time.Unix(0, 0), Percent: 80, Desired: 1, Actual: 1, Ready: engine.True, Rollout: engine.RoleStable},
			}},
		{Namespace: "default", Name: "api", URL: "http://api.default.example.com", Latest: "api-00002", Ready: engine.True,
			Rollout: &engine.RolloutStatus{State: canary.State{Canary: "api-00002", Stable: "api-00001", Phase: canary.RolledBack, Started: started, Reason: long}},
			Revisions: []engine.RevisionStatus{
				{Name: "api-00002", Generation: 2, Created: time.Unix(0, 0), Latest: true, Ready: engine.False, Reason: "ExitCode1", Rollout: engine.RoleFailed},
				{Name: "api-00001", Generation: 1, Created: time.Unix(0, 0), Percent: 100, Desired: 1, Actual: 1, Ready: engine.True, Rollout: engine.RoleStable},
			}},
	}
	for _, tt := range []struct {
		kind, want string
	}{
		{kindServices, `NAMESPACE   NAME   URL                              LATEST      READY   ROLLOUT                                                                           REASON
default     web    http://web.default.example.com   web-00002   True    web-00002 20% Progressing, 1 of 2 checks failed
default     api    http://api.default.example.com   api-00002   True    api-00002 RolledBack: not ready within 10m0s (progress-deadline) (+1 more line)

rollout of default/api:
api-00002 RolledBack: not ready within 10m0s (progress-deadline)
the last pod: ExitCode1
`},
		{kindRevisions, `NAME        SERVICE   TRAFFIC   ROLLOUT   TAGS   GENERATION   AGE   DESIRED/ACTUAL   READY   REASON
web-00002   web       20%       canary           2            -     1/1              True
web-00001   web       80%       stable           1            -     1/1              True
api-00002   api                 failed           2            -     0/0              False   ExitCode1
api-00001   api       100%      stable           1            -     1/1              True
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
	raw, err := json.Marshal(svcs)
	if err != nil {
		t.Fatal(err)
	}
	var back []engine.ServiceStatus
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(svcs, back); diff != "" {
		t.Errorf("read back (-served +read):\n%s", diff)
	}
	if !strings.Contains(string(raw), `"rollout":{"canary":"web-00002","stable":"web-00001","phase":"Progressing","weight":20,"failedChecks":1,`) {
		t.Errorf("the rollout's fields are not the ledger's: %s", raw)
	}
}

// A Service routed through a net-* ingress controller shows the address
// its KIngress reports, and why it is not ready.
func TestWriteServiceTableLoadBalancer(t *testing.T) {
	svcs := []engine.ServiceStatus{
		{Namespace: "default", Name: "web", URL: "http://web.default.example.com", Latest: "web-00001", Ready: engine.True, LoadBalancer: "kourier.kourier-system.svc.cluster.local"},
		{Namespace: "default", Name: "api", URL: "http://api.default.example.com", Latest: "api-00001", Ready: engine.False, Reason: "ingress api: IngressNotConfigured: Envoy rejected the route"},
	}
	want := `NAMESPACE   NAME   URL                              LOADBALANCER                               LATEST      READY   ROLLOUT   REASON
default     web    http://web.default.example.com   kourier.kourier-system.svc.cluster.local   web-00001   True
default     api    http://api.default.example.com                                              api-00001   False             ingress api: IngressNotConfigured: Envoy rejected the route
`
	var b strings.Builder
	writeServiceTable(&b, kindServices, svcs, time.Now())
	var got []string
	for line := range strings.Lines(b.String()) {
		got = append(got, strings.TrimRight(line, " \n")+"\n")
	}
	if diff := cmp.Diff(want, strings.Join(got, "")); diff != "" {
		t.Errorf("ebb get services (-want +got):\n%s", diff)
	}
}
