package serving

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const saYAML = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: hello
  namespace: default
`

const featuresYAML = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-features
  namespace: ebb-system
data:
  multi-container: disabled
`

// cacheStates are successive states of one repository: an edit, a new
// file, a broken file, its fix, a removal, a config change.
func cacheStates(t *testing.T) []fstest.MapFS {
	t.Helper()
	base := fstest.MapFS{
		"apps/hello.yaml": file(helloYAML + "---\n" + saYAML),
		"apps/other.yaml": file(strings.ReplaceAll(helloYAML, "name: hello", "name: other")),
		"config.yaml":     file(featuresYAML),
	}
	ledgers := func(fsys fstest.MapFS) fstest.MapFS {
		tree, err := Load(fsys)
		if err != nil {
			t.Fatal(err)
		}
		next, _, err := tree.Plan(stamp("c1", 0), Observed{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range next {
			b, err := MarshalLedger(l)
			if err != nil {
				t.Fatal(err)
			}
			fsys[LedgerPath(l.Namespace, l.Service)] = &fstest.MapFile{Data: b}
		}
		return fsys
	}
	s0 := ledgers(clone(base))
	s1 := clone(s0)
	s1["apps/hello.yaml"] = file(strings.ReplaceAll(helloYAML, "value: World", "value: Ebb") + "---\n" + saYAML)
	s2 := clone(s1)
	s2["apps/third.yaml"] = file(strings.ReplaceAll(helloYAML, "name: hello", "name: third"))
	s3 := clone(s2)
	s3["apps/third.yaml"] = file(strings.ReplaceAll(helloYAML, "name: hello", "name: third") + "  bogus: 1\n")
	s4 := clone(s2)
	s5 := clone(s4)
	delete(s5, "apps/other.yaml")
	s6 := clone(s5)
	s6["config.yaml"] = file(strings.ReplaceAll(featuresYAML, "disabled", "enabled"))
	// The ledgers written back: every Service plans without a change...
	s7 := ledgers(clone(s6))
	// ...then hello's ledger goes back to an older one, its Service file
	// unchanged: planned again, it gets a new revision.
	s8 := clone(s7)
	s8[LedgerPath("default", "hello")] = s0[LedgerPath("default", "hello")]
	return []fstest.MapFS{s0, s1, s2, s3, s4, s5, s6, s7, s8}
}

func clone(m fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// treeJSON is a comparable form of a tree and its error.
func treeJSON(t *testing.T, tree *Tree, err error) string {
	t.Helper()
	sources := map[string]Source{}
	for ref, src := range tree.Sources {
		sources[ref.String()] = src
	}
	b, jerr := json.MarshalIndent(struct {
		Services       []*Service
		DomainMappings []*DomainMapping
		Ledgers        []*Ledger
		Objects        any
		Config         any
		Sources        map[string]Source
		Err            string
	}{tree.Services, tree.DomainMappings, tree.Ledgers, tree.Objects, tree.Config, sources, fmt.Sprint(err)}, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(b)
}

func TestCacheLoadsWhatLoadLoads(t *testing.T) {
	var c Cache
	for i, fsys := range cacheStates(t) {
		want, wantErr := Load(fsys)
		got, gotErr := c.Load(fsys)
		if diff := cmp.Diff(treeJSON(t, want, wantErr), treeJSON(t, got, gotErr)); diff != "" {
			t.Errorf("state %d: cached load differs from Load (-want +got):\n%s", i, diff)
		}
	}
}

func TestCacheReusesUnchangedFiles(t *testing.T) {
	states := cacheStates(t)
	var c Cache
	first, err := c.Load(states[0])
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Load(states[1]) // apps/hello.yaml changed
	if err != nil {
		t.Fatal(err)
	}
	byName := func(tree *Tree) map[string]*Service {
		m := map[string]*Service{}
		for _, s := range tree.Services {
			m[s.Name] = s
		}
		return m
	}
	a, b := byName(first), byName(second)
	if a["other"] != b["other"] {
		t.Error("the unchanged file's Service was decoded again")
	}
	if a["hello"] == b["hello"] {
		t.Error("the changed file's Service was not decoded again")
	}
	if got := b["hello"].Spec.Template.Spec.Containers[0].Env[0].Value; got != "Ebb" {
		t.Errorf("changed Service has TARGET %q, want Ebb", got)
	}
	for i := range first.Ledgers {
		if first.Ledgers[i] != second.Ledgers[i] {
			t.Errorf("unchanged ledger %s was decoded again", first.Ledgers[i].Service)
		}
	}
}

func TestCacheReportsBrokenFilesEveryTime(t *testing.T) {
	states := cacheStates(t)
	var c Cache
	for range 2 {
		_, err := c.Load(states[3])
		if err == nil || !strings.Contains(err.Error(), "apps/third.yaml:") {
			t.Fatalf("error = %v, want one in apps/third.yaml", err)
		}
	}
}

func TestCacheCopiesObjects(t *testing.T) {
	fsys := cacheStates(t)[0]
	var c Cache
	first, err := c.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	first.Objects[0].SetLabels(map[string]string{"changed": "by a reader"})
	second, err := c.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Objects[0].GetLabels(); got != nil {
		t.Errorf("labels = %v: a reader's change reached the next load", got)
	}
}

func TestCacheForgetsUnusedFiles(t *testing.T) {
	states := cacheStates(t)
	var c Cache
	if _, err := c.Load(states[0]); err != nil {
		t.Fatal(err)
	}
	n := len(c.files)
	gone := fstest.MapFS{"apps/a.yaml": file(strings.ReplaceAll(helloYAML, "name: hello", "name: a"))}
	for range keepLoads {
		if _, err := c.Load(gone); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.files) != 1 {
		t.Errorf("after %d loads of another tree the cache holds %d files (had %d), want 1", keepLoads, len(c.files), n)
	}
}

func TestCacheConcurrentLoads(t *testing.T) {
	states := cacheStates(t)
	var c Cache
	var wg gosync.WaitGroup
	for _, fsys := range states {
		wg.Go(func() {
			for range 3 {
				want, wantErr := Load(fsys)
				got, gotErr := c.Load(fsys)
				if !reflect.DeepEqual(treeJSON(t, want, wantErr), treeJSON(t, got, gotErr)) {
					t.Error("concurrent cached load differs from Load")
				}
			}
		})
	}
	wg.Wait()
}

// TestTreeKeepsTemplateHashes: the hashes worked out at load time are
// those Plan would work out, and planning the tree (twice: the second time
// with what the first settled, and again in later states sharing its
// Services) gives what Plan gives.
func TestTreeKeepsTemplateHashes(t *testing.T) {
	var c Cache
	settled := 0
	for i, fsys := range cacheStates(t) {
		tree, err := c.Load(fsys)
		if err != nil {
			continue // the broken state
		}
		if len(tree.items) != len(tree.Services) {
			t.Errorf("state %d: %d items for %d Services", i, len(tree.items), len(tree.Services))
		}
		for _, s := range tree.Services {
			if got, want := tree.items[s].hash, HashTemplate(&s.Spec.Template); got != want {
				t.Errorf("state %d: %s: kept hash %s, want %s", i, s.Name, got, want)
			}
		}
		at := stamp(fmt.Sprintf("c%d", i), i)
		want, wantChanges, wantErr := Plan(tree.Services, tree.Ledgers, at, Observed{})
		if _, _, err := tree.Plan(at, Observed{}); (err == nil) != (wantErr == nil) {
			t.Fatalf("state %d: first tree.Plan: %v, Plan: %v", i, err, wantErr)
		}
		for _, s := range tree.Services {
			if tree.items[s].settled.Load() != nil {
				settled++
			}
		}
		got, gotChanges, gotErr := tree.Plan(at, Observed{})
		asJSON := func(ls []*Ledger, cs []Change, err error) string {
			b, jerr := json.Marshal(struct {
				L []*Ledger
				C []Change
				E string
			}{ls, cs, fmt.Sprint(err)})
			if jerr != nil {
				t.Fatal(jerr)
			}
			return string(b)
		}
		if diff := cmp.Diff(asJSON(want, wantChanges, wantErr), asJSON(got, gotChanges, gotErr)); diff != "" {
			t.Errorf("state %d: tree.Plan differs from Plan (-want +got):\n%s", i, diff)
		}
	}
	if settled == 0 {
		t.Error("no Service settled: the states do not try planning a settled pair")
	}
}

// idFS is a ContentFS over a MapFS whose IDs are the files' contents, and
// which counts the files read.
type idFS struct {
	fstest.MapFS
	reads *[]string
}

func (f idFS) ContentID(name string) (string, bool) {
	file, ok := f.MapFS[name]
	if !ok {
		return "", false
	}
	return "content:" + string(file.Data), true
}

func (f idFS) ReadFile(name string) ([]byte, error) {
	*f.reads = append(*f.reads, name)
	return f.MapFS.ReadFile(name)
}

func (f idFS) Open(name string) (fs.File, error) {
	if file, ok := f.MapFS[name]; ok && file.Mode.IsRegular() {
		*f.reads = append(*f.reads, name)
	}
	return f.MapFS.Open(name)
}

// A file system that names its files' content (a Git tree) has only the
// files a Cache has not seen read, and loads the same trees.
func TestCacheReadsOnlyNewContent(t *testing.T) {
	var c Cache
	var reads []string
	seen := map[string]bool{}
	for i, fsys := range cacheStates(t) {
		reads = nil
		got, gotErr := c.Load(idFS{MapFS: fsys, reads: &reads})
		want, wantErr := Load(fsys)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("state %d: load through the cache: %v, without: %v", i, gotErr, wantErr)
		}
		if gotErr == nil {
			if diff := cmp.Diff(want.Services, got.Services); diff != "" {
				t.Errorf("state %d: Services (-want +got):\n%s", i, diff)
			}
			if diff := cmp.Diff(want.Ledgers, got.Ledgers); diff != "" {
				t.Errorf("state %d: ledgers (-want +got):\n%s", i, diff)
			}
		}
		// Only content not seen in an earlier state is read (a file with
		// problems is not kept: state 3's third.yaml).
		var wantReads []string
		for name, f := range fsys {
			if isYAML(name) && !seen[name+"\x00"+string(f.Data)] {
				wantReads = append(wantReads, name)
			}
		}
		for name, f := range fsys {
			if isYAML(name) && !(i == 3 && name == "apps/third.yaml") {
				seen[name+"\x00"+string(f.Data)] = true
			}
		}
		slices.Sort(wantReads)
		slices.Sort(reads)
		if diff := cmp.Diff(wantReads, reads); diff != "" {
			t.Errorf("state %d: files read (-want +got):\n%s", i, diff)
		}
	}
}
