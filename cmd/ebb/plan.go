package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/serving"
)

// uncommittedStamp is the stamp of a plain directory planned without
// --commit/--time: a fixed value, so planning a directory never depends on
// the clock or on file times.
var uncommittedStamp = serving.Stamp{Commit: "uncommitted", Time: metav1.NewTime(time.Unix(0, 0).UTC())}

const planUsage = `usage: ebb plan DIR [--write] [--commit HASH --time RFC3339]

Plans the ledger of every Service under DIR (.ebb/<namespace>/<service>.yaml)
and prints what would change. With --write, writes the changed ledger files.
Without --commit and --time, changes are stamped commit "uncommitted" at
1970-01-01T00:00:00Z.

Exit status: 0 planned, 1 invalid repository (errors on stderr, no file
written), 2 usage.
`

func runPlan(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	write := fs.Bool("write", false, "write the ledger files")
	commit := fs.String("commit", "", "commit that stamps the changes")
	at := fs.String("time", "", "commit time (RFC 3339)")
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, planUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb plan: %v\n%s", err, planUsage)
		return exitUsage
	}
	if len(dirs) != 1 {
		fmt.Fprintf(e.stderr, "ebb plan: want one DIR, got %d\n%s", len(dirs), planUsage)
		return exitUsage
	}
	stamp := uncommittedStamp
	if (*commit == "") != (*at == "") {
		fmt.Fprintf(e.stderr, "ebb plan: --commit and --time go together\n%s", planUsage)
		return exitUsage
	}
	if *commit != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb plan: --time: %v\n", err)
			return exitUsage
		}
		stamp = serving.Stamp{Commit: *commit, Time: metav1.NewTime(t.UTC())}
	}
	dir := dirs[0]
	_, next, changes, code := loadAndPlan(e, "plan", dir, stamp)
	if code != exitOK {
		return code
	}
	if len(changes) == 0 {
		fmt.Fprintln(e.stdout, "ledger is current")
	}
	for _, c := range changes {
		fmt.Fprintln(e.stdout, c)
	}
	if !*write {
		return exitOK
	}
	written, err := engine.DirWriter{Dir: dir}.Store(next, nil)
	for _, p := range written {
		fmt.Fprintf(e.stdout, "wrote %s\n", p)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb plan: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// loadAndPlan loads the serving repository in dir and plans it at stamp.
// On failure it reports on stderr (every error of the tree) and returns
// the exit code: exitUsage when dir is not a directory, exitInvalid when
// the repository does not load or plan.
func loadAndPlan(e *env, cmd, dir string, at serving.Stamp) (*serving.Tree, []*serving.Ledger, []serving.Change, int) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(e.stderr, "ebb %s: %s is not a directory\n", cmd, dir)
		return nil, nil, nil, exitUsage
	}
	root, err := engine.OpenDir(dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb %s: %v\n", cmd, err)
		return nil, nil, nil, exitUsage
	}
	defer root.Close()
	tree, err := serving.Load(root)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, nil, nil, exitInvalid
	}
	// Revisions are their templates and the code of their ko:// images,
	// as ebb up plans them.
	engine.DigestDirCode(dir, root, tree)
	ledgers, changes, err := tree.Plan(at, serving.Observed{})
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return nil, nil, nil, exitInvalid
	}
	return tree, ledgers, changes, exitOK
}

// parseInterleaved parses flags that may come before, between and after
// the positional arguments, and returns the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
