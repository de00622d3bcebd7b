package serving

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkedLedger is a ledger with two revisions (the first retired), a
// tag and a split, as ebb writes it; removed is the same ledger after
// its Service left the tree.
func checkedLedger(t *testing.T) (live, removed []byte) {
	t.Helper()
	_, ledgers, err := run(t, [][]*Service{
		{svc("a")},
		{svc("b", routes(latest(10, "next"), pin("hello-00001", 90, "")))},
		{svc("c", routes(latest(100, "")))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if live, err = MarshalLedger(ledgers[0]); err != nil {
		t.Fatal(err)
	}
	gone, _, err := Plan(nil, ledgers, stamp("dddd", 9), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	if removed, err = MarshalLedger(gone[0]); err != nil {
		t.Fatal(err)
	}
	return live, removed
}

// TestUnmarshalLedgerRefusesTruncatedFiles: a ledger file cut anywhere
// (but for its final newline) is refused, naming the file.
func TestUnmarshalLedgerRefusesTruncatedFiles(t *testing.T) {
	live, removed := checkedLedger(t)
	for name, b := range map[string][]byte{"live": live, "removed": removed} {
		if _, err := UnmarshalLedger("x.yaml", b); err != nil {
			t.Fatalf("%s: the whole ledger is refused: %v\n%s", name, err, b)
		}
		for n := 0; n < len(b)-1; n++ {
			_, err := UnmarshalLedger(".ebb/default/hello.yaml", b[:n])
			if err == nil {
				t.Errorf("%s: the ledger cut to %d of %d bytes is accepted:\n%s", name, n, len(b), b[:n])
				continue
			}
			if !strings.HasPrefix(err.Error(), ".ebb/default/hello.yaml") {
				t.Errorf("%s cut to %d bytes: error %q does not name the file", name, n, err)
			}
		}
	}
}

// TestUnmarshalLedgerRefuses: each kind of bad ledger is refused with its
// line, field and what is wrong.
func TestUnmarshalLedgerRefuses(t *testing.T) {
	live, _ := checkedLedger(t)
	good := string(live)
	hash := func(i int) string {
		return regexpMatch(t, good, `sha256:[0-9a-f]{64}`, i)
	}
	tests := []struct {
		name     string
		old, new string // good with old replaced by new (once)
		want     []string
	}{
		{"no service", "service: hello\n", "", []string{"x.yaml:1: service: missing field(s)"}},
		{"empty namespace", "namespace: default\n", "namespace: \"\"\n", []string{"x.yaml:3: namespace: missing field(s)"}},
		{"no generation", "generation: 3\nlatest", "latest", []string{
			"x.yaml:1: generation: missing field(s)",
			"x.yaml:21: revisions[1].generation: expected 1 <= 2 <= 1",
			"x.yaml:34: revisions[2].generation: expected 1 <= 3 <= 1",
		}},
		{"generation zero", "generation: 3\nlatest", "generation: 0\nlatest", []string{
			"x.yaml:5: generation: expected 1 <= 0 <= 9007199254740991",
			"x.yaml:22: revisions[1].generation: expected 1 <= 2 <= 1",
			"x.yaml:35: revisions[2].generation: expected 1 <= 3 <= 1",
		}},
		{"generation past the maximum", "generation: 3\nlatest", "generation: 9007199254740992\nlatest", []string{
			"x.yaml:5: generation: expected 1 <= 9007199254740992 <= 9007199254740991",
		}},
		{"generation that overflows", "generation: 3\nlatest", "generation: 9223372036854775807\nlatest", []string{
			"x.yaml:5: generation: expected 1 <= 9223372036854775807 <= 9007199254740991",
		}},
		{"negative revision generation", "    generation: 2\n", "    generation: -2\n", []string{
			"x.yaml:22: revisions[1].generation: expected 1 <= -2 <= 3",
		}},
		{"repeated generation", "    generation: 2\n", "    generation: 1\n", []string{
			`x.yaml:22: revisions[1].generation: generation 1 is also revision "hello-00001"'s`,
		}},
		{"repeated name", "  - name: hello-00002\n", "  - name: hello-00001\n", []string{
			`x.yaml:21: revisions[1].name: Multiple definitions for "hello-00001"`,
		}},
		{"no revision name", "  - name: hello-00001\n    generation", "  - generation", []string{
			"x.yaml:8: revisions[0].name: missing field(s)",
		}},
		{"short hash", hash(1), "sha256:abc", []string{
			`x.yaml:23: revisions[1].hash: hash "sha256:abc" is not of the form sha256:<64 hex digits>`,
		}},
		{"another algorithm", hash(0), "md5:" + strings.Repeat("0", 32), []string{
			`x.yaml:10: revisions[0].hash: hash "md5:00000000000000000000000000000000" is not of the form sha256:<64 hex digits>`,
		}},
		{"upper-case hash", hash(0), strings.ToUpper(hash(0)), []string{
			`x.yaml:10: revisions[0].hash: hash "` + strings.ToUpper(hash(0)) + `" is not of the form sha256:<64 hex digits>`,
		}},
		{"no hash", "    hash: " + hash(2) + "\n", "", []string{
			"x.yaml:34: revisions[2].hash: missing field(s)",
		}},
		{"no created stamp", "    created:\n      commit: ccc\n      time: \"2026-11-22T04:02:00Z\"\n", "", []string{
			"x.yaml:34: revisions[2].created.commit: missing field(s)",
			"x.yaml:34: revisions[2].created.time: missing field(s)",
		}},
		{"retired without a time", "    retired:\n      commit: ccc\n      time: \"2026-11-22T04:02:00Z\"\n", "    retired:\n      commit: ccc\n", []string{
			"x.yaml:14: revisions[0].retired.time: missing field(s)",
		}},
		{"failed without a time", "    retired:\n      commit: ccc\n      time: \"2026-11-22T04:02:00Z\"\n", "    retired:\n      commit: ccc\n      time: \"2026-11-22T04:02:00Z\"\n    failed:\n      commit: ccc\n", []string{
			"x.yaml:17: revisions[0].failed.time: missing field(s)",
		}},
		{"no template", "    template:\n      spec:\n        containers:\n          - image: a\n", "", []string{
			"x.yaml:8: revisions[0].template: missing field(s)",
		}},
		{"no latest", "latest: hello-00003\n", "", []string{"x.yaml:1: latest: missing field(s)"}},
		{"latest ready unknown", "latest: hello-00003\n", "latest: hello-00003\nlatestReady: hello-00009\n", []string{
			`x.yaml:7: latestReady: Revision "hello-00009" not found.`,
		}},
		{"percent over 100", "    percent: 100\n", "    percent: 101\n", []string{
			"x.yaml:44: traffic: Traffic targets sum to 101, want 100",
			"x.yaml:47: traffic[0].percent: expected 0 <= 101 <= 100",
		}},
		{"no percent", "    percent: 100\n", "", []string{
			"x.yaml:44: traffic: Traffic targets sum to 0, want 100",
			"x.yaml:45: traffic[0].percent: missing field(s)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("the ledger has no %q:\n%s", tt.old, good)
			}
			bad := strings.Replace(good, tt.old, tt.new, 1)
			_, err := UnmarshalLedger("x.yaml", []byte(bad))
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %v (%T), want an ErrorList\n%s", err, err, bad)
			}
			if d := cmp.Diff(tt.want, strings.Split(list.Error(), "\n")); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%s", d, bad)
			}
		})
	}
}

// TestRemovedLedgerWithoutItsLatest: garbage collection takes a removed
// Service's revisions, its latest included; the ledger still reads.
func TestRemovedLedgerWithoutItsLatest(t *testing.T) {
	_, removed := checkedLedger(t)
	l, err := UnmarshalLedger("x.yaml", removed)
	if err != nil {
		t.Fatal(err)
	}
	l.Revisions = l.Revisions[:1]
	b, err := MarshalLedger(l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalLedger("x.yaml", b); err != nil {
		t.Errorf("a removed Service's ledger without its latest revision: %v\n%s", err, b)
	}
}

// TestPlanRefusesGenerationOverflow: a Service whose ledger is at the
// largest generation cannot make another revision; the plan fails on the
// Service rather than naming a revision with a wrapped number.
func TestPlanRefusesGenerationOverflow(t *testing.T) {
	_, ledgers, err := run(t, [][]*Service{{svc("a")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range []int64{MaxGeneration, 1<<63 - 1, -1} {
		l := ledgers[0].DeepCopy()
		l.Generation = gen
		next, _, err := Plan([]*Service{svc("b")}, []*Ledger{l}, stamp("dd", 5), Observed{})
		if err == nil {
			t.Errorf("generation %d: planned %s, want an error", gen, next[0].Latest)
			continue
		}
		if strings.Contains(err.Error(), "--") || !strings.Contains(err.Error(), "spec.template: a new revision needs generation") {
			t.Errorf("generation %d: error %q", gen, err)
		}
	}
	// One below the largest still plans, to the largest.
	l := ledgers[0].DeepCopy()
	l.Generation = MaxGeneration - 1
	next, _, err := Plan([]*Service{svc("b")}, []*Ledger{l}, stamp("dd", 5), Observed{})
	if err != nil {
		t.Fatal(err)
	}
	if got := next[0].Revisions[1]; got.Generation != MaxGeneration || got.Name != "hello-9007199254740991" {
		t.Errorf("revision %s at generation %d", got.Name, got.Generation)
	}
	b, err := MarshalLedger(next[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalLedger("x.yaml", b); err != nil {
		t.Errorf("the ledger at the largest generation does not read back: %v", err)
	}
}

// FuzzUnmarshalLedger feeds arbitrary bytes to the ledger parser: it
// must never panic, and whatever it accepts keeps the ledger's rules and
// reads back the same after a write.
func FuzzUnmarshalLedger(f *testing.F) {
	_, ledgers, err := run(&testing.T{}, [][]*Service{
		{svc("a")},
		{svc("b", routes(latest(10, "next"), pin("hello-00001", 90, "")))},
	})
	if err == nil {
		if b, err := MarshalLedger(ledgers[0]); err == nil {
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	f.Add([]byte("apiVersion: ebb.dev/v1alpha1\nkind: Ledger\ngeneration: 9223372036854775807\n"))
	f.Add([]byte("revisions: [{name: a, generation: 1}, {name: a, generation: 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := UnmarshalLedger("x.yaml", data)
		if err != nil {
			if err.Error() == "" || !strings.HasPrefix(err.Error(), "x.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if l.Generation < 1 || l.Generation > MaxGeneration || l.Namespace == "" || l.Service == "" {
			t.Fatalf("accepted generation %d of %q/%q", l.Generation, l.Namespace, l.Service)
		}
		names, gens := map[string]bool{}, map[int64]bool{}
		for _, r := range l.Revisions {
			if names[r.Name] || gens[r.Generation] || r.Generation < 1 || r.Generation > l.Generation || !templateHashRE.MatchString(r.Hash) {
				t.Fatalf("accepted revision %q at generation %d, hash %q", r.Name, r.Generation, r.Hash)
			}
			names[r.Name], gens[r.Generation] = true, true
		}
		b, err := MarshalLedger(l)
		if err != nil {
			t.Fatalf("MarshalLedger: %v", err)
		}
		again, err := UnmarshalLedger("x.yaml", b)
		if err != nil {
			t.Fatalf("an accepted ledger does not read back after a write: %v\n%s", err, b)
		}
		if d := cmp.Diff(l, again); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
	})
}

// regexpMatch returns the i-th match of expr in s.
func regexpMatch(t *testing.T, s, expr string, i int) string {
	t.Helper()
	all := regexp.MustCompile(expr).FindAllString(s, -1)
	if i >= len(all) {
		t.Fatalf("%d matches of %s, want %d", len(all), expr, i+1)
	}
	return all[i]
}
