//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

// planExample loads and plans an example as the controller does for a
// commit, keeping what the status reads (Services and ledgers).
func planExample(t *testing.T, name string, at serving.Stamp) *engine.Desired {
	t.Helper()
	tree, err := serving.Load(os.DirFS(filepath.Join("..", "..", "examples", name)))
	if err != nil {
		t.Fatal(err)
	}
	ledgers, _, err := tree.Plan(at, serving.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	return &engine.Desired{Tree: tree, Ledgers: ledgers, At: at}
}

// rows splits tabwriter output into lines of fields (empty cells vanish).
func rows(out string) [][]string {
	var r [][]string
	for line := range strings.Lines(out) {
		r = append(r, strings.Fields(line))
	}
	return r
}

// TestGetCluster publishes two sources' status into a real apiserver the
// way the controller does (one Ready, one Stalled on a bad commit after a
// good one), and reads it back with `ebb get ... --cluster` through a
// kubeconfig.
func TestGetCluster(t *testing.T) {
	c := kubetest.Start(t, kubetest.Options{})
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, ns := range []string{"ebb-system", "empty"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	committed := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	mainAt := serving.Stamp{Commit: strings.Repeat("c0ffee", 6) + "abcd", Time: metav1.NewTime(committed)}
	traffic := planExample(t, "traffic", mainAt)
	// A canary rolled back: the status carries the ledger's rollout.
	for _, l := range traffic.Ledgers {
		l.Rollout = &canary.State{Canary: "traffic-00003", Stable: "traffic-00002", Phase: canary.RolledBack, FailedChecks: 2,
			Started: mainAt.Time, Reason: "success 50.0% < 99%, 2 of 2 checks",
			Last: &canary.Check{Canary: canary.Figures{Requests: 40, Failures: 20, P99: "3ms"}, Stable: canary.Figures{Requests: 160}}}
		l.Revisions[2].Failed = &mainAt
	}
	health := func(_, rev string) (engine.RevisionHealth, bool) {
		if rev == "traffic-00001" {
			return engine.RevisionHealth{Desired: 2, Actual: 2, Ready: engine.True}, true
		}
		return engine.RevisionHealth{Desired: 1, Ready: engine.Unknown, Reason: "waiting for pods"}, true
	}
	k := kubetest.Clients(t, c.Config())
	main := cluster.NewStatus(k, "ebb-system", "main", health, nil)
	main.Begin(ctx, mainAt)
	main.Applied(ctx, traffic, nil)

	appsAt := serving.Stamp{Commit: strings.Repeat("1", 40), Time: metav1.NewTime(committed)}
	hello := planExample(t, "hello", appsAt)
	// A DomainMapping whose domain another namespace owns.
	dm := &serving.DomainMapping{}
	dm.Name, dm.Namespace, dm.Spec.Ref = "api.example.com", "default", serving.KReference{Kind: serving.KindService, Name: "hello"}
	hello.Tree.DomainMappings = []*serving.DomainMapping{dm}
	hello.Refused = []render.HostRefusal{{HostUse: render.HostUse{Host: dm.Name, Namespace: dm.Namespace, Kind: serving.KindDomainMapping, Name: dm.Name}, Owner: "other"}}
	apps := cluster.NewStatus(k, "ebb-system", "apps", nil, nil)
	apps.Begin(ctx, appsAt)
	apps.Applied(ctx, hello, nil)
	apps.Failed(ctx, strings.Repeat("2", 40), errors.New("load: service.yaml:9: spec.template.spec.containers[0].image: required\nand one more line"))

	get := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"get"}, args...), &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }})
		return code, out.String(), errb.String()
	}
	kc := "--kubeconfig=" + c.Kubeconfig

	// -o json: every source's Services, sources in name order, exactly
	// what the controller computed.
	code, out, stderr := get("services", kc, "-o", "json")
	if code != exitOK {
		t.Fatalf("get services -o json: exit %d: %s", code, stderr)
	}
	var got []engine.ServiceStatus
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := append(engine.Status(hello, func(string, string) (engine.RevisionHealth, bool) { return engine.RevisionHealth{}, false }),
		engine.Status(traffic, health)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("get services -o json (-want +got):\n%s", diff)
	}
	if len(want) != 2 || want[1].URL == "" || len(want[1].Traffic) != 3 || want[1].Rollout.Summary() != "traffic-00003 RolledBack: success 50.0% < 99%, 2 of 2 checks" {
		t.Fatalf("the examples planned to %+v", want)
	}

	// The services table, as for ebb up, then the source that is not Ready.
	code, out, stderr = get("services", "--cluster", kc)
	if code != exitOK {
		t.Fatalf("get services --cluster: exit %d: %s", code, stderr)
	}
	r := rows(out)
	wantRows := [][]string{{"NAMESPACE", "NAME", "URL", "LATEST", "READY", "ROLLOUT", "REASON"}}
	for _, s := range want {
		row := append([]string{s.Namespace, s.Name, s.URL, s.Latest, string(s.Ready)}, strings.Fields(s.Rollout.Summary())...)
		wantRows = append(wantRows, append(row, strings.Fields(s.Reason)...))
	}
	wantRows = append(wantRows, []string{},
		strings.Fields("domainmapping default/api.example.com is not ready: host api.example.com is already in use by another namespace"),
		[]string{},
		[]string{"source", "apps", "is", "Stalled:", "load:", "service.yaml:9:", "spec.template.spec.containers[0].image:", "required", "(+1", "more", "line)"})
	if diff := cmp.Diff(wantRows, r); diff != "" {
		t.Errorf("get services --cluster (-want +got):\n%s\n%s", diff, out)
	}

	// Revisions: traffic and pods per revision.
	code, out, stderr = get("revisions", kc, "--source", "main")
	if code != exitOK {
		t.Fatalf("get revisions --source main: exit %d: %s", code, stderr)
	}
	wantRevs := [][]string{
		{"NAME", "SERVICE", "TRAFFIC", "ROLLOUT", "TAGS", "GENERATION", "AGE", "DESIRED/ACTUAL", "READY", "REASON"},
		{"traffic-00003", "traffic", "failed", "staging", "3", "-", "1/0", "Unknown", "waiting", "for", "pods"},
		{"traffic-00002", "traffic", "40%", "stable", "2", "-", "1/0", "Unknown", "waiting", "for", "pods"},
		{"traffic-00001", "traffic", "60%", "1", "-", "2/2", "True"},
	}
	if diff := cmp.Diff(wantRevs, rows(out)); diff != "" {
		t.Errorf("get revisions --source main (-want +got):\n%s\n%s", diff, out)
	}

	// DomainMappings: every source's, with the Service each maps to.
	code, out, stderr = get("domainmappings", kc)
	if code != exitOK {
		t.Fatalf("get domainmappings: exit %d: %s", code, stderr)
	}
	wantDMs := [][]string{
		{"NAMESPACE", "NAME", "URL", "SERVICE", "READY", "REASON"},
		append(strings.Fields("default api.example.com http://api.example.com hello False"),
			strings.Fields("host api.example.com is already in use by another namespace")...),
	}
	if diff := cmp.Diff(wantDMs, rows(out)); diff != "" {
		t.Errorf("get domainmappings (-want +got):\n%s\n%s", diff, out)
	}
	code, out, stderr = get("dm", kc, "-o", "yaml")
	var dms []engine.DomainMappingStatus
	if err := yaml.Unmarshal([]byte(out), &dms); code != exitOK || err != nil {
		t.Fatalf("get dm -o yaml: exit %d, %v: %s", code, err, stderr)
	}
	if diff := cmp.Diff(engine.DomainMappingStatuses(hello), dms); diff != "" {
		t.Errorf("get dm -o yaml (-want +got):\n%s", diff)
	}

	// Sources: condition, last applied commit, the commit being worked on.
	code, out, stderr = get("sources", kc, "--context", "kubetest", "-n", "ebb-system")
	if code != exitOK {
		t.Fatalf("get sources: exit %d: %s", code, stderr)
	}
	wantSrcs := [][]string{
		{"NAME", "CONDITION", "APPLIED", "COMMITTED", "ATTEMPTED", "SERVICES", "MESSAGE"},
		{"apps", "Stalled", short(appsAt.Commit), "3h", "ago", short(strings.Repeat("2", 40)), "1", "load:", "service.yaml:9:",
			"spec.template.spec.containers[0].image:", "required", "(+1", "more", "line)"},
		{"main", "Ready", short(mainAt.Commit), "3h", "ago", "-", "1", "applied", mainAt.Commit},
		{},
		{"apps", "(Stalled):"},
		{"load:", "service.yaml:9:", "spec.template.spec.containers[0].image:", "required"},
		{"and", "one", "more", "line"},
	}
	if diff := cmp.Diff(wantSrcs, rows(out)); diff != "" {
		t.Errorf("get sources (-want +got):\n%s\n%s", diff, out)
	}
	code, out, _ = get("sources", kc, "-o", "json", "--source", "main")
	var docs []cluster.StatusDoc
	if err := json.Unmarshal([]byte(out), &docs); code != exitOK || err != nil || len(docs) != 1 ||
		docs[0].Condition != cluster.Ready || docs[0].Commit != mainAt.Commit || !docs[0].CommitTime.Equal(committed) {
		t.Errorf("get sources -o json --source main: exit %d, %v, %+v", code, err, docs)
	}

	// -o yaml has the whole message the table cuts to one line.
	code, out, _ = get("sources", kc, "-o", "yaml", "--source", "apps")
	docs = nil
	if err := yaml.Unmarshal([]byte(out), &docs); code != exitOK || err != nil || len(docs) != 1 ||
		docs[0].Message != "load: service.yaml:9: spec.template.spec.containers[0].image: required\nand one more line" {
		t.Errorf("get sources -o yaml --source apps: exit %d, %v, %+v", code, err, docs)
	}

	// What goes wrong says what to check.
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"services", kc, "-n", "empty"}, exitInvalid, "no ebb controller has published a status in namespace empty"},
		{[]string{"services", kc, "--source", "other"}, exitInvalid, "no status of source other in namespace ebb-system (ConfigMap ebb-status-other)"},
		{[]string{"services", kc, "--context", "nope"}, exitInvalid, `kubeconfig: context "nope" does not exist`},
		{[]string{"services", kc, "--admin", "127.0.0.1:1"}, exitUsage, "give one"},
	} {
		code, _, stderr := get(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("get %v: exit %d, stderr %q; want exit %d, %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}
