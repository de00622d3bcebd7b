package examples

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
)

var names = []string{"autoscale", "canary", "domain", "grpc", "hello", "traffic", "websocket"}

var update = flag.Bool("update", false, "rewrite the example ledgers in canonical form")

func load(t *testing.T, name string) *serving.Tree {
	t.Helper()
	tree, err := serving.Load(os.DirFS(name))
	if err != nil {
		t.Fatalf("load %s:\n%v", name, err)
	}
	return tree
}

// TestLedgersAreCurrent plans every example against its committed ledger:
// planning again must change nothing.
func TestLedgersAreCurrent(t *testing.T) {
	dirs, err := filepath.Glob("*/service.yaml")
	if err != nil || len(dirs) != len(names) {
		t.Fatalf("examples with a service.yaml: %v (%v), want %v", dirs, err, names)
	}
	later := serving.Stamp{Commit: "later", Time: metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tree := load(t, name)
			if len(tree.Services) == 0 || len(tree.Ledgers) != len(tree.Services) {
				t.Fatalf("%d services, %d ledgers", len(tree.Services), len(tree.Ledgers))
			}
			next, changes, err := tree.Plan(later, serving.Observed{})
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 0 {
				t.Errorf("the committed ledger is stale; run `ebb plan --write examples/%s`: %v", name, changes)
			}
			if d := cmp.Diff(tree.Ledgers, next); d != "" {
				t.Errorf("planning changed the ledger (-committed +planned):\n%s", d)
			}
			for _, l := range next {
				b, err := serving.MarshalLedger(l)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(name, filepath.FromSlash(serving.LedgerPath(l.Namespace, l.Service)))
				if *update {
					if err := os.WriteFile(file, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				disk, err := os.ReadFile(file)
				if err != nil || string(disk) != string(b) {
					t.Errorf("ledger file of %s/%s is not in canonical form (%v); go test ./examples -update rewrites it", l.Namespace, l.Service, err)
				}
			}
			for _, s := range tree.Services {
				want := "ko://github.com/ebb-dev/ebb/examples/" + name + "/app"
				if got := s.Spec.Template.Spec.Containers[0].Image; got != want {
					t.Errorf("image = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestTrafficExample(t *testing.T) {
	l := load(t, "traffic").Ledgers[0]
	var revs []string
	for _, r := range l.Revisions {
		revs = append(revs, r.Name)
	}
	if d := cmp.Diff([]string{"traffic-00001", "traffic-00002", "traffic-00003"}, revs); d != "" {
		t.Errorf("revisions (-want +got):\n%s", d)
	}
	want := []serving.Target{
		{RevisionName: "traffic-00001", Percent: 60},
		{RevisionName: "traffic-00002", Percent: 40},
		{Tag: "staging", RevisionName: "traffic-00003", LatestRevision: true, Percent: 0},
	}
	if d := cmp.Diff(want, l.Traffic); d != "" {
		t.Errorf("traffic (-want +got):\n%s", d)
	}
}

func TestDomainExample(t *testing.T) {
	tree := load(t, "domain")
	if got := tree.Config.Domain.LookupDomain(nil); got != "example.com" {
		t.Errorf("domain suffix = %s, want example.com", got)
	}
	if len(tree.DomainMappings) != 1 || tree.DomainMappings[0].Name != "www.example.org" {
		t.Errorf("domain mappings = %+v", tree.DomainMappings)
	}
}

// TestProtocolExamples: the grpc example's port is h2c, so every proxy
// speaks HTTP/2 to it; the websocket example's is plain HTTP/1.1, which
// an upgrade needs.
func TestProtocolExamples(t *testing.T) {
	for name, wantH2C := range map[string]bool{"grpc": true, "websocket": false} {
		s := load(t, name).Services[0]
		if port, h2c := serving.UserPort(&s.Spec.Template.Spec); port != 8080 || h2c != wantH2C {
			t.Errorf("%s: UserPort = %d, h2c %v; want 8080, %v", name, port, h2c, wantH2C)
		}
	}
}
