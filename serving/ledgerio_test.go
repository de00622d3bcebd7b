package serving

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving/canary"
)

// TestMarshalLedgerLeavesOutEmptyValues: a revision template's empty
// metadata and a container's empty name and resources are not written,
// everything else is, and the ledger reads back the same.
func TestMarshalLedgerLeavesOutEmptyValues(t *testing.T) {
	at := Stamp{Commit: "c1", Time: metav1.Date(2026, 11, 22, 4, 1, 0, 0, time.UTC)}
	bare := RevisionTemplateSpec{Spec: RevisionSpec{PodSpec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Image: "init"}},
		Containers:     []corev1.Container{{Image: "app"}},
	}}}
	full := RevisionTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"tier": "web"}},
		Spec: RevisionSpec{PodSpec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
			}}},
			// The pod's own resources are a pointer: empty is not absent.
			Resources: &corev1.ResourceRequirements{},
		}},
	}
	l := &Ledger{APIVersion: LedgerAPIVersion, Kind: LedgerKind, Namespace: "default", Service: "hello", Generation: 2, Latest: "hello-00002",
		Revisions: []Revision{
			{Name: "hello-00001", Generation: 1, Hash: HashTemplate(&bare), Created: at, Template: bare},
			{Name: "hello-00002", Generation: 2, Hash: HashTemplate(&full), Created: at, Template: full},
		},
		Traffic: []Target{{RevisionName: "hello-00002", LatestRevision: true, Percent: 100}},
	}
	b, err := MarshalLedger(l)
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, gone := range []string{"metadata: {}", `name: ""`, "\n            resources: {}"} {
		if strings.Contains(y, gone) {
			t.Errorf("ledger YAML has %q:\n%s", gone, y)
		}
	}
	for _, kept := range []string{"tier: web", "name: app", "cpu: 100m", "\n        resources: {}"} {
		if !strings.Contains(y, kept) {
			t.Errorf("ledger YAML lacks %q:\n%s", kept, y)
		}
	}
	got, err := UnmarshalLedger("x.yaml", b)
	if err != nil {
		t.Fatalf("UnmarshalLedger: %v\n%s", err, b)
	}
	if d := cmp.Diff(l, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

// TestUnmarshalLedgerTimesInUTC: a ledger read back in a zone other than
// UTC is the ledger planned, to the time zone of each of its times.
func TestUnmarshalLedgerTimesInUTC(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+9", 9*60*60)
	t.Cleanup(func() { time.Local = local })
	at := func(minute int) Stamp {
		return Stamp{Commit: fmt.Sprintf("c%d", minute), Time: metav1.Date(2026, 11, 22, 4, minute, 0, 0, time.UTC)}
	}
	tmpl := func(image string) RevisionTemplateSpec {
		return RevisionTemplateSpec{Spec: RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}}}
	}
	v1, v2, v3 := tmpl("v1"), tmpl("v2"), tmpl("v3")
	retired, failed, removed := at(2), at(3), at(4)
	next := metav1.NewMicroTime(time.Date(2026, 11, 22, 4, 3, 30, 0, time.UTC))
	l := &Ledger{APIVersion: LedgerAPIVersion, Kind: LedgerKind, Namespace: "default", Service: "hello", Generation: 3, Latest: "hello-00003", LatestReady: "hello-00002",
		Revisions: []Revision{
			{Name: "hello-00001", Generation: 1, Hash: HashTemplate(&v1), Created: at(1), Retired: &retired, Template: v1},
			{Name: "hello-00002", Generation: 2, Hash: HashTemplate(&v2), Created: at(2), Template: v2},
			{Name: "hello-00003", Generation: 3, Hash: HashTemplate(&v3), Created: at(3), Failed: &failed, Template: v3},
		},
		Traffic: []Target{{RevisionName: "hello-00002", LatestRevision: true, Percent: 100}},
		Removed: &removed,
		Rollout: &canary.State{Canary: "hello-00003", Stable: "hello-00002", Phase: canary.RolledBack,
			Started: at(3).Time, ReadyBy: at(13).Time, NextCheck: &next, Reason: "failed"},
	}
	b, err := MarshalLedger(l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := UnmarshalLedger("x.yaml", b)
	if err != nil {
		t.Fatalf("UnmarshalLedger: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(l, got) {
		t.Errorf("read back, the ledger differs from the one written (-want +got):\n%s", cmp.Diff(l, got, cmp.Comparer(func(a, b time.Time) bool { return a.String() == b.String() })))
	}
}
