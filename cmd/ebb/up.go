package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

const upUsage = `usage: ebb up [DIR] [--addr HOST:PORT] [--admin HOST:PORT] [-v]

Runs every Service of the serving repository DIR (default: the current
directory) on this machine: revisions as local processes (a ko:// image is
built with go build; otherwise the container's command runs), each behind
its own queue-proxy, with the gateway, activator and autoscaler in this
process. Edits under DIR are picked up as they are saved; an edit that does
not validate is reported and changes nothing. Ledger changes are written
to DIR/.ebb, and committed when DIR is the root of a Git work tree.

Flags:
  --addr HOST:PORT    the gateway, HTTP/1.1 and h2c (default 127.0.0.1:8080)
  --admin HOST:PORT   status for 'ebb get', 'ebb sync' and metrics (default 127.0.0.1:8081)
  --limits SPEC       bounds on what is read of the repository, as
                      file=4Mi,document=1536Ki,objects=10k,tree=64Mi,files=10k
                      (keys left out keep their default)
  -v                  debug logs
`

// upDefaultAdmin is where `ebb up` answers `ebb get`.
const upDefaultAdmin = "127.0.0.1:8081"

func runUp(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "127.0.0.1:8080", "gateway address")
	admin := fs.String("admin", upDefaultAdmin, "admin address")
	verbose := fs.Bool("v", false, "debug logs")
	gitf := addGitFlags(fs)
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, upUsage+upGitUsage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n%s", err, upUsage)
		return exitUsage
	}
	if len(dirs) > 1 {
		fmt.Fprintf(e.stderr, "ebb up: want at most one DIR, got %d\n%s", len(dirs), upUsage)
		return exitUsage
	}
	if len(dirs) == 1 && isGitSource(dirs[0]) {
		return runUpGit(ctx, e, dirs[0], gitf, *addr, *admin, upLogger(e, *verbose))
	}
	dir := "."
	if len(dirs) == 1 {
		dir = dirs[0]
	}
	dir, err = filepath.Abs(dir)
	if err == nil {
		var st os.FileInfo
		if st, err = os.Stat(dir); err == nil && !st.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %s: %v\n", dir, err)
		return exitUsage
	}
	u, err := newUp(dir, e, upLogger(e, *verbose), nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	u.pipeline.Limits = gitf.limits
	if err := u.serve(ctx, *addr, *admin); err != nil {
		fmt.Fprintf(e.stderr, "ebb up: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// upLogger logs to stderr, debug lines with -v.
func upLogger(e *env, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}
