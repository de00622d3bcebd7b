package engine

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClockEdges lists every place the engine reads the clock (time.Now,
// time.Since, time.Until): the edges where a tick, a request or a commit
// begins, and the stopwatch of a pass's timings. Everything else takes
// its time as a value. A new reading of the clock belongs at an edge, and
// in this list.
func TestClockEdges(t *testing.T) {
	want := []string{
		"gc.go GC.Run",                     // the GC driver's clock
		"git/source.go Source.Fetch",       // Status.LastFetch: when a fetch ended
		"git/source.go Source.record",      // Status.ErrorTime
		"git/trigger.go Source.Run",        // the poll schedule's tick
		"git/writeback.go Source.commitOn", // a write-back commit's own time
		"loop.go Loop.Sync",                // a pass's tick
		"loopledger.go Loop.WriteLedgers",  // a ledger write from outside the passes
		"loopstatus.go lap",                // the stopwatch of Timing (twice)
		"loopstatus.go lap",
		"statuspost.go StatusPoster.Run",          // a posting round's tick
		"webhook/webhook.go Receiver.ServeHTTP",   // a request's arrival
		"worktree.go WorktreeWriter.commitOnHead", // a ledger commit's own time
	}
	var got []string
	for _, dir := range []string{".", "git", "webhook"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && slices.Contains([]string{"Now", "Since", "Until"}, sel.Sel.Name) {
						got = append(got, filepath.ToSlash(file)+" "+funcName(fn))
					}
					return true
				})
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("where the engine reads the clock (-want +got):\n%s", diff)
	}
}

// funcName is a function's name, with its receiver's type for a method.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}
