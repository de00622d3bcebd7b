package serving

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

const plainYAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: plain
spec:
  template:
    spec:
      containers:
        - image: registry.example.com/plain:1
`

const (
	helloImage = "ko://example.com/hello"
	codeA      = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	codeB      = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// A change of a ko:// image's code alone is a new revision, which records
// the code; a Service without ko:// images is not touched. (The changes
// compared after the first state are the new revisions.) Each state is
// planned twice through one Cache, the second time from the ledgers the
// first wrote, as a sync loop does.
func TestPlanCodeOnlyChange(t *testing.T) {
	fsys := fstest.MapFS{"hello.yaml": file(helloYAML), "plain.yaml": file(plainYAML)}
	var cache Cache
	steps := []struct {
		name string
		code Code
		want []string
	}{
		{"first", Code{helloImage: codeA}, []string{
			"revision: default/hello: new revision hello-00001",
			"traffic: default/hello: hello-00001 at 100% (latestRevision)",
			"revision: default/plain: new revision plain-00001",
			"traffic: default/plain: plain-00001 at 100% (latestRevision)",
		}},
		{"same code", Code{helloImage: codeA}, nil},
		{"code changed", Code{helloImage: codeB}, []string{"revision: default/hello: new revision hello-00002"}},
		{"same code again", Code{helloImage: codeB}, nil},
		{"code no longer digested", nil, []string{"revision: default/hello: new revision hello-00003"}},
		{"back to the first code", Code{helloImage: codeA}, []string{"revision: default/hello: new revision hello-00004"}},
	}
	for i, step := range steps {
		for pass := range 2 {
			tree, err := cache.Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			tree.Code = step.code
			next, changes, err := tree.Plan(stamp(strings.Repeat("c", i+1), i), Observed{})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			var got []string
			for _, c := range changes {
				if c.Kind == ChangeRevision || i == 0 {
					got = append(got, string(c.Kind)+": "+c.String())
				}
			}
			want := step.want
			if pass == 1 {
				want = nil
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s, pass %d: changes (-want +got):\n%s", step.name, pass, d)
			}
			for _, l := range next {
				b, err := MarshalLedger(l)
				if err != nil {
					t.Fatal(err)
				}
				fsys[LedgerPath(l.Namespace, l.Service)] = file(string(b))
			}
		}
	}
	tree, err := cache.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var hello, plain *Ledger
	for _, l := range tree.Ledgers {
		switch l.Service {
		case "hello":
			hello = l
		case "plain":
			plain = l
		}
	}
	tmpl := &tree.Services[0].Spec.Template
	type rev struct {
		Name string
		Hash string
		Code map[string]string
	}
	var got []rev
	for _, r := range hello.Revisions {
		got = append(got, rev{r.Name, r.Hash, r.Code})
	}
	want := []rev{
		{"hello-00001", RevisionHash(tmpl, Code{helloImage: codeA}), map[string]string{helloImage: codeA}},
		{"hello-00002", RevisionHash(tmpl, Code{helloImage: codeB}), map[string]string{helloImage: codeB}},
		{"hello-00003", HashTemplate(tmpl), nil},
		{"hello-00004", RevisionHash(tmpl, Code{helloImage: codeA}), map[string]string{helloImage: codeA}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("hello's revisions (-want +got):\n%s", d)
	}
	if len(plain.Revisions) != 1 || plain.Revisions[0].Hash != HashTemplate(&tree.Services[1].Spec.Template) || plain.Revisions[0].Code != nil {
		t.Errorf("plain's revisions = %+v, want one, hashed by its template alone", plain.Revisions)
	}
}

// Ledgers written before revisions covered code plan to no new revision:
// a template without ko:// images hashes as it always has (the hashes
// below are those HashTemplate wrote before), one with ko:// images whose
// code has no digest hashes by its template alone, and one whose code has
// a digest records it in its latest revision.
func TestPlanCodeKeepsOlderLedgers(t *testing.T) {
	const plainLedger = `apiVersion: ebb.dev/v1alpha1
kind: Ledger
namespace: default
service: plain
generation: 1
latest: plain-00001
revisions:
  - name: plain-00001
    generation: 1
    hash: sha256:aa34679c02f5a86f18a529fc23052d6c7d9413132d9b54b423686a784998b530
    created:
      commit: c
      time: "1970-01-01T00:00:00Z"
    template:
      spec:
        containers:
          - image: registry.example.com/plain:1
traffic:
  - revisionName: plain-00001
    latestRevision: true
    percent: 100
`
	hello := strings.ReplaceAll(strings.ReplaceAll(plainLedger, "plain", "hello"), "registry.example.com/hello:1", helloImage)
	hello = strings.Replace(hello, "sha256:aa34679c02f5a86f18a529fc23052d6c7d9413132d9b54b423686a784998b530",
		"sha256:67f14a5cd6a594958ef2a1cc627522022a35b6151f135c4ec76ce2cdb86e1941", 1)
	// helloYAML's template, without its env.
	helloSvc, _, _ := strings.Cut(helloYAML, "          env:")
	fsys := fstest.MapFS{
		"hello.yaml": file(helloSvc), "plain.yaml": file(plainYAML),
		".ebb/default/hello.yaml": file(hello), ".ebb/default/plain.yaml": file(plainLedger),
	}
	tree, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	// Another image's code is known: it changes nothing here.
	tree.Code = Code{"ko://example.com/other": codeA}
	_, changes, err := tree.Plan(stamp("later", 9), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Errorf("planning the older ledgers changed %v, want nothing", changes)
	}

	// hello's code known: its latest revision records it, and is kept;
	// the next change of the code is a new revision.
	var got []string
	for _, code := range []string{codeA, codeA, codeB} {
		tree.Code = Code{helloImage: code}
		next, changes, err := tree.Plan(stamp("later", 9), Observed{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			if c.Kind == ChangeCode || c.Kind == ChangeRevision {
				got = append(got, string(c.Kind)+": "+c.String())
			}
		}
		tree.Ledgers = next
	}
	want := []string{
		"code: default/hello: revision hello-00001 records its code (example.com/hello sha256:aaaaaaaaaaaa)",
		"revision: default/hello: new revision hello-00002",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// A revision named in its template cannot change its code without a new
// name, as it cannot change its template.
func TestPlanCodeChangeKeepsName(t *testing.T) {
	yaml := strings.Replace(helloYAML, "  template:\n", "  template:\n    metadata:\n      name: hello-v1\n", 1)
	fsys := fstest.MapFS{"hello.yaml": file(yaml)}
	tree, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	tree.Code = Code{helloImage: codeA}
	next, _, err := tree.Plan(stamp("c", 1), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	tree.Ledgers = next
	tree.Code = Code{helloImage: codeB}
	_, _, err = tree.Plan(stamp("cc", 2), Observed{})
	if err == nil || !strings.Contains(err.Error(), "Saw the following changes without a name change") || !strings.Contains(err.Error(), "+ "+helloImage+" "+codeB) {
		t.Errorf("err = %v, want a name change asked for, naming the new code", err)
	}
}
