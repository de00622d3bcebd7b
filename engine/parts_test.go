package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/serving"
)

// Rendered a namespace at a time, a state gives the objects of its whole
// render: the examples, and the examples' Services spread over two
// namespaces with a Namespace object, a DomainMapping each and tags.
func TestDesiredParts(t *testing.T) {
	states := map[string]fstest.MapFS{}
	mixed := fstest.MapFS{
		"namespaces.yaml": {Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n")},
	}
	for _, ex := range []string{"hello", "domain", "traffic", "autoscale", "grpc"} {
		dir := filepath.Join("..", "examples", ex)
		example := fstest.MapFS{}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			example[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b}
			ledger := strings.HasPrefix(filepath.ToSlash(rel), ".ebb/")
			switch {
			case strings.Contains(string(b), "namespace: default"):
				for _, ns := range []string{"a", "b"} {
					to := ns + "-" + ex + "-" + filepath.Base(p)
					if ledger {
						to = ".ebb/" + ns + "/" + filepath.Base(p)
					}
					// Each namespace maps a domain of its own: one state
					// never serves a host from two namespaces.
					data := strings.ReplaceAll(string(b), "namespace: default", "namespace: "+ns)
					data = strings.ReplaceAll(data, "name: www.example.org", "name: www."+ns+".example.org")
					mixed[to] = &fstest.MapFile{Data: []byte(data)}
				}
			case !ledger:
				mixed[ex+"-"+filepath.Base(p)] = &fstest.MapFile{Data: b}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		states[ex] = example
	}
	states["mixed"] = mixed
	for name, fsys := range states {
		t.Run(name, func(t *testing.T) {
			tree, err := serving.Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			ledgers, _, err := tree.Plan(serving.Stamp{Commit: "c1"}, serving.Observed{})
			if err != nil {
				t.Fatal(err)
			}
			d := &Desired{Tree: tree, Ledgers: ledgers}
			all, err := d.All()
			if err != nil {
				t.Fatal(err)
			}
			var got []*unstructured.Unstructured
			parts := 0
			if err := d.Parts(func(objs []*unstructured.Unstructured) error {
				got = append(got, objs...)
				parts++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			key := func(u *unstructured.Unstructured) string {
				return u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
			}
			sortByKey := func(objs []*unstructured.Unstructured) {
				slices.SortFunc(objs, func(a, b *unstructured.Unstructured) int { return strings.Compare(key(a), key(b)) })
			}
			sortByKey(all)
			sortByKey(got)
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("parts (-whole render +parts):\n%s", diff)
			}
			if name == "mixed" && parts != 3 {
				t.Errorf("%d parts, want 3: the other objects, then namespaces a and b", parts)
			}
		})
	}
}
