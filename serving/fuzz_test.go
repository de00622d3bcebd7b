package serving

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary bytes to the loader as a service file and as a
// ledger file. It must never panic; whatever loads must plan, and planned
// ledgers must survive a write and read.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(helloYAML), []byte(""))
	f.Add([]byte(helloYAML+"  traffic:\n    - percent: 90\n      tag: a\n    - revisionName: hello-00001\n      tag: a\n"), []byte(""))
	f.Add([]byte("a: &a [*a]\n"), []byte("b: &b {x: *b}\n"))
	f.Add([]byte("---\n- 1\n---\n{\"x\": 1e400}\n"), []byte("apiVersion: ebb.dev/v1alpha1\nkind: Ledger\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-gc, namespace: ebb-system}\ndata: {schedule: \"@every 1m\"}\n"), []byte(""))
	if paths, err := filepath.Glob("../examples/*/.ebb/*/*.yaml"); err == nil {
		for _, p := range paths {
			ledger, _ := os.ReadFile(p)
			svc, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(p))), "service.yaml"))
			f.Add(svc, ledger)
		}
	}
	f.Fuzz(func(t *testing.T, svc, ledger []byte) {
		tree, err := Load(fstest.MapFS{
			"s.yaml":                  &fstest.MapFile{Data: svc},
			".ebb/default/hello.yaml": &fstest.MapFile{Data: ledger},
		})
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error")
			}
			return
		}
		next, _, err := tree.Plan(stamp("c", 0), Observed{})
		if err != nil {
			return
		}
		for _, l := range next {
			b, err := MarshalLedger(l)
			if err != nil {
				t.Fatalf("MarshalLedger: %v", err)
			}
			if _, err := UnmarshalLedger("x.yaml", b); err != nil {
				t.Fatalf("a planned ledger does not read back: %v\n%s", err, b)
			}
		}
	})
}
