package render

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/serving"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// exampleInput loads and plans one example repository the way `ebb render`
// does: in memory, against its committed ledgers.
func exampleInput(t *testing.T, dir string) Input {
	t.Helper()
	tree, err := serving.Load(os.DirFS(dir))
	if err != nil {
		t.Fatalf("load %s:\n%v", dir, err)
	}
	at := serving.Stamp{Commit: "render-test", Time: metav1.NewTime(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))}
	ledgers, _, err := tree.Plan(at, serving.Observed{})
	if err != nil {
		t.Fatalf("plan %s:\n%v", dir, err)
	}
	return TreeInput(tree, ledgers)
}

func examples(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("../examples/*/service.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	return dirs
}

// TestGolden renders every example to testdata/<example>.golden.yaml.
// Run with -update to accept a change.
func TestGolden(t *testing.T) {
	for _, dir := range examples(t) {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			objs, err := Render(exampleInput(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteYAML(&got, objs); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestGolden -update)", err)
			}
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Errorf("%s is stale; if the change is intended, run go test ./render -run TestGolden -update (-want +got):\n%s", golden, d)
			}
		})
	}
}

// TestDeterministic renders the same content in shuffled orders, many
// times, and wants the same bytes every time.
func TestDeterministic(t *testing.T) {
	inputs := richInputs()
	for _, dir := range examples(t) {
		inputs = append(inputs, exampleInput(t, dir))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, in := range inputs {
		want := renderBytes(t, in)
		for range 20 {
			in := Input{
				Services:       shuffled(rng, in.Services),
				Ledgers:        shuffled(rng, in.Ledgers),
				DomainMappings: shuffled(rng, in.DomainMappings),
				Config:         in.Config,
				Gateways:       in.Gateways,
				Objects:        shuffled(rng, in.Objects),
			}
			if got := renderBytes(t, in); !bytes.Equal(got, want) {
				t.Fatalf("input %d: shuffled input renders differently:\n%s", i, cmp.Diff(string(want), string(got)))
			}
		}
	}
}

func renderBytes(t *testing.T, in Input) []byte {
	t.Helper()
	objs, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteYAML(&b, objs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func shuffled[T any](rng *rand.Rand, s []T) []T {
	s = slices.Clone(s)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}
