package layout_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clockDirs are the packages (and those under them) whose decisions take
// the time as an argument: the time enters only at the edges listed in
// timeEdges.
var clockDirs = []string{"engine", "runtime", "scaler", "serving", "render"}

// timeEdges are the functions of clockDirs that read the clock
// (time.Now, time.Since, time.Until), as "file:function", and why they
// may. Everything they call is given the time they read.
var timeEdges = map[string]string{
	// The autoscaler (see scaler/autoscaler.go).
	"scaler/autoscaler.go:(*Autoscaler).Run":       "a run starts: revisions of a run before start afresh now",
	"scaler/autoscaler.go:(*Autoscaler).Upsert":    "a revision arrives: its windows start now",
	"scaler/autoscaler.go:(*Autoscaler).SetConfig": "a configuration arrives: the windows resize now",
	"scaler/autoscaler.go:(*Autoscaler).Record":    "activator stats arrive: a stat without a timestamp is now",
	"scaler/revision.go:(*revision).start":         "the first scrape is set half-way through a wall-clock second",
	"scaler/revision.go:(*revision).every":         "the tick edge: a timer fires, and the next firing is set",
	"scaler/revision.go:(*revision).pokeNow":       "a tick run at once when load arrives at zero",
	"scaler/revision.go:(*revision).scrape":        "the time a scrape's answers arrived (network I/O), as Knative's collector",

	// The runtimes.
	"runtime/cluster/target.go:(*Target).Apply":             "the cluster runtime's tick edge: a pass's time, and its duration",
	"runtime/cluster/events.go:(*eventWriter).emit":         "an Event's timestamp is when it is written",
	"runtime/cluster/leader/leader.go:(*elector).acquire":   "the lease's times, compared with the apiserver's record",
	"runtime/cluster/leader/leader.go:(*elector).renewOnce": "the lease's times, compared with the apiserver's record",
	"runtime/cluster/leader/leader.go:(*elector).release":   "the lease's release time",
	"runtime/local/pod.go:(*Runtime).startPod":              "a pod's start time",
	"runtime/local/process.go:(*Process).supervise":         "how long a process ran, for its restart back-off",

	// The engine's edges.
	"engine/gc.go:(*GC).Run":                          "the GC schedule's tick edge: a collection runs at now",
	"engine/git/source.go:(*Source).Fetch":            "a fetch's time and duration",
	"engine/git/source.go:(*Source).record":           "the time a head was seen",
	"engine/git/trigger.go:(*Source).Run":             "the poll loop's tick",
	"engine/git/writeback.go:(*Source).commitOn":      "a ledger commit's time",
	"engine/loop.go:(*Loop).Sync":                     "a pass's tick edge",
	"engine/loopledger.go:(*Loop).WriteLedgers":       "the write-back's duration",
	"engine/loopstatus.go:lap":                        "a pass's step durations",
	"engine/statuspost.go:(*StatusPoster).Run":        "commit statuses' tick",
	"engine/webhook/webhook.go:(*Receiver).ServeHTTP": "a delivery's arrival",
	"engine/worktree.go:WorktreeWriter.commitOnHead":  "a ledger commit's time",
}

// clockFields are the struct fields named Now or now of a function type
// (a clock held instead of the time passed in), as "file:Type.field".
var clockFields = map[string]string{}

// TestTimeEntersAtEdges parses the non-test files of clockDirs and lists
// where they read the clock and which structs hold a clock function: both
// must be exactly the lists above, so that a new door for the time fails
// here, and so does an entry left after its door is gone.
func TestTimeEntersAtEdges(t *testing.T) {
	reads, fields, err := clockUses("../..", clockDirs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(timeEdges)), reads); diff != "" {
		t.Errorf("functions reading the clock (time.Now, time.Since, time.Until), against timeEdges (-want +got):\n%s\n"+
			"Take now as an argument from the caller's tick instead, or list a real edge with its reason.", diff)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(clockFields)), fields); diff != "" {
		t.Errorf("struct fields named Now or now of a function type, against clockFields (-want +got):\n%s\n"+
			"Pass the time in instead of a clock field.", diff)
	}
}

// TestClockUses checks the parser on sources made for it.
func TestClockUses(t *testing.T) {
	src := map[string]string{
		"a/a.go": `package a

import (
	clock "time"
)

type Loop struct {
	Now   func() clock.Time
	Other func()
	inner struct{ now func() clock.Time }
}

func (l *Loop) Run() {
	go func() { _ = clock.Since(clock.Time{}) }()
}

func pure(now clock.Time) clock.Time { return now.Add(clock.Second) }

var start = clock.Now()
`,
		"a/b/b.go": `package b

import "time"

type T struct{}

func (T) tick() { f := time.Now; _ = f; _ = time.Until(time.Time{}) }
`,
		"a/a_test.go": `package a

import "time"

func helper() { time.Now() }
`,
		"c/c.go": `package c

import "time"

func f() { time.Now() }
`,
	}
	root := t.TempDir()
	for name, s := range src {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reads, fields, err := clockUses(root, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a/a.go:(*Loop).Run", "a/a.go:var start", "a/b/b.go:T.tick"}, reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a/a.go:Loop.Now", "a/a.go:Loop.inner.now"}, fields); diff != "" {
		t.Errorf("Now fields (-want +got):\n%s", diff)
	}
}

// clockUses returns, for the non-test Go files under root's dirs, the
// functions (and package-level declarations) that refer to time.Now,
// time.Since or time.Until, and the struct fields named Now of a function
// type, each as "path:name" with path relative to root.
func clockUses(root string, dirs []string) (reads, fields []string, err error) {
	fset := token.NewFileSet()
	seenR, seenF := map[string]bool{}, map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			for _, name := range fileClockReads(f) {
				seenR[rel+":"+name] = true
			}
			for _, name := range nowFuncFields(f) {
				seenF[rel+":"+name] = true
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("clock uses under %s: %w", dir, err)
		}
	}
	return slices.Sorted(maps.Keys(seenR)), slices.Sorted(maps.Keys(seenF)), nil
}

// fileClockReads names the declarations of f that refer to the clock.
func fileClockReads(f *ast.File) []string {
	timeName := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	if timeName == "" || timeName == "_" || timeName == "." {
		return nil
	}
	var out []string
	for _, decl := range f.Decls {
		found := false
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return !found
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName {
				switch sel.Sel.Name {
				case "Now", "Since", "Until":
					found = true
				}
			}
			return !found
		})
		if found {
			out = append(out, declName(decl))
		}
	}
	return out
}

// declName is "Func", "T.Method", "(*T).Method" or "var name".
func declName(decl ast.Decl) string {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil || len(d.Recv.List) == 0 {
			return d.Name.Name
		}
		switch r := d.Recv.List[0].Type.(type) {
		case *ast.StarExpr:
			return "(*" + typeName(r.X) + ")." + d.Name.Name
		default:
			return typeName(r) + "." + d.Name.Name
		}
	case *ast.GenDecl:
		var names []string
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			}
		}
		return d.Tok.String() + " " + strings.Join(names, ",")
	}
	return "?"
}

// typeName is a receiver type's name without its type parameters.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.IndexExpr:
		return typeName(e.X)
	case *ast.IndexListExpr:
		return typeName(e.X)
	}
	return "?"
}

// nowFuncFields names the struct fields called Now or now of a function
// type in f's type declarations, as "Type.Now" (or "Type.field.Now" inside
// a nested struct).
func nowFuncFields(f *ast.File) []string {
	var out []string
	var walk func(prefix string, st *ast.StructType)
	walk = func(prefix string, st *ast.StructType) {
		for _, fld := range st.Fields.List {
			if inner, ok := fld.Type.(*ast.StructType); ok {
				for _, n := range fld.Names {
					walk(prefix+"."+n.Name, inner)
				}
				continue
			}
			if _, ok := fld.Type.(*ast.FuncType); !ok {
				continue
			}
			for _, n := range fld.Names {
				if n.Name == "Now" || n.Name == "now" {
					out = append(out, prefix+"."+n.Name)
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		if st, ok := ts.Type.(*ast.StructType); ok {
			walk(ts.Name.Name, st)
		}
		return true
	})
	return out
}
