package serving

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
