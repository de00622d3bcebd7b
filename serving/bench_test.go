package serving

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// benchTree is a repository of n Services, one file each, with their
// ledgers planned.
func benchTree(b *testing.B, n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	var services []*Service
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		y := fmt.Sprintf(`apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: %s
  namespace: team-%d
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: "10"
    spec:
      containers:
        - image: ko://example.com/%s
          env:
            - name: TARGET
              value: World
          ports:
            - containerPort: 8080
  traffic:
    - latestRevision: true
      percent: 100
      tag: current
`, name, i%10, name)
		fsys["apps/"+name+".yaml"] = &fstest.MapFile{Data: []byte(y)}
	}
	tree, err := Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	services = tree.Services
	next, _, err := Plan(services, nil, stamp("c", 0), Observed{})
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range next {
		data, err := MarshalLedger(l)
		if err != nil {
			b.Fatal(err)
		}
		fsys[LedgerPath(l.Namespace, l.Service)] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// BenchmarkLoad measures loading a 1000-Service repository with its
// ledgers (what every new commit costs before rendering).
func BenchmarkLoad(b *testing.B) {
	fsys := benchTree(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan measures a no-op plan of 1000 Services.
func BenchmarkPlan(b *testing.B) {
	tree, err := Load(benchTree(b, 1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, changes, err := tree.Plan(stamp("d", 1), Observed{}); err != nil || len(changes) != 0 {
			b.Fatal(changes, err)
		}
	}
}

// BenchmarkLoadCachedPush measures loading the same repository through a
// Cache after a push that changed one Service file: what a sync pass pays
// for a new commit.
func BenchmarkLoadCachedPush(b *testing.B) {
	fsys := benchTree(b, 1000)
	var c Cache
	if _, err := c.Load(fsys); err != nil {
		b.Fatal(err)
	}
	orig := fsys["apps/svc-0500.yaml"].Data
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		data := bytes.Replace(orig, []byte("value: World"), fmt.Appendf(nil, "value: World-%d", i), 1)
		fsys["apps/svc-0500.yaml"] = &fstest.MapFile{Data: data}
		if _, err := c.Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanCode measures a no-op plan of 1000 Services whose ko://
// images all have code digests (Tree.Code): each Service's revision hash
// covers its code.
func BenchmarkPlanCode(b *testing.B) {
	fsys := benchTree(b, 1000)
	var c Cache
	tree, err := c.Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	code := Code{}
	for _, im := range tree.KoImages() {
		code[im] = "sha256:" + strings.Repeat("a", 64)
	}
	tree.Code = code
	next, _, err := tree.Plan(stamp("d", 1), Observed{})
	if err != nil {
		b.Fatal(err)
	}
	tree.Ledgers = next
	b.ResetTimer()
	for b.Loop() {
		if _, changes, err := tree.Plan(stamp("d", 1), Observed{}); err != nil || len(changes) != 0 {
			b.Fatal(changes, err)
		}
	}
}
