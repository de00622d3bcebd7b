package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ebb-dev/ebb/render"
)

const renderUsage = `usage: ebb render DIR [-o yaml|json]

Prints the Kubernetes objects the serving repository in DIR renders to:
the Services are planned in memory against the committed ledgers under
DIR/.ebb (which are never written; new revisions are stamped "uncommitted"
as in ebb plan), then rendered. The output is sorted and the same bytes on
every run: a multi-document YAML stream, or with -o json one v1 List.

Exit status: 0 rendered, 1 invalid repository (every error on stderr,
nothing on stdout), 2 usage.
`

func runRender(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("o", "yaml", "output format: yaml or json")
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, renderUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb render: %v\n%s", err, renderUsage)
		return exitUsage
	}
	if len(dirs) != 1 {
		fmt.Fprintf(e.stderr, "ebb render: want one DIR, got %d\n%s", len(dirs), renderUsage)
		return exitUsage
	}
	write := render.WriteYAML
	switch *format {
	case "yaml":
	case "json":
		write = render.WriteJSON
	default:
		fmt.Fprintf(e.stderr, "ebb render: -o %q: want yaml or json\n%s", *format, renderUsage)
		return exitUsage
	}
	tree, ledgers, _, code := loadAndPlan(e, "render", dirs[0], uncommittedStamp)
	if code != exitOK {
		return code
	}
	objs, err := render.Render(render.TreeInput(tree, ledgers))
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb render: %v\n", tree.Locate(err))
		return exitInvalid
	}
	w := bufio.NewWriter(e.stdout)
	if err := write(w, objs); err != nil {
		fmt.Fprintf(e.stderr, "ebb render: %v\n", err)
		return exitInvalid
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(e.stderr, "ebb render: %v\n", err)
		return exitInvalid
	}
	return exitOK
}
