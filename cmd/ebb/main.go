// Command ebb is a GitOps serving platform: Knative-style Services from Git,
// revisions and traffic recorded back to Git, and its own queue-proxy,
// activator, gateway and autoscaler.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/ebb-dev/ebb/internal/buildinfo"
	"github.com/ebb-dev/ebb/internal/interrupt"
)

func main() {
	ctx, now, stop := interrupt.Notify(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, stopNow: now})
	stop()
	os.Exit(code)
}

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitInvalid = 1 // the input (repository, configuration) is invalid
	exitUsage   = 2 // the command line is wrong
)

// env is what a subcommand may touch of the process around it.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// stopNow is closed when a command that stops gracefully (its
	// context ended) is asked again: it stops at once. Nil: never.
	stopNow <-chan struct{}
}

// command is one ebb subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order the help shows them.
func commands() []command {
	return []command{
		{"up", "run a serving repository on this machine (DIR or Git URL)", runUp},
		{"get", "show the services, revisions, domain mappings or sources of a running ebb up (or, with --cluster, of a cluster)", runGet},
		{"sync", "ask a running ebb up to sync now ([--admin HOST:PORT])", runSync},
		{"rollout", "show, promote or abort a Service's analysed canary (status|promote|abort SERVICE)", runRollout},
		{"render", "print the objects a serving repository renders to (DIR [-o yaml|json])", runRender},
		{"plan", "plan the ledger of a serving repository (DIR [--write])", runPlan},
		{"gc", "garbage-collect old revisions (DIR --dry-run | --write)", runGC},
		{"controller", "run ebb in a cluster: follow a Git repository, apply, autoscale (URL)", runController},
		{"gateway", "run the gateway router with its activator: in a cluster, or from a route table file (--routes FILE)", runGateway},
		{"queue", "run the queue-proxy sidecar (Knative env vars)", runQueue},
		{"version", "print ebb's version", runVersion},
	}
}

// version is set at link time (-ldflags "-X main.version=…"); without it
// `ebb version` names the build (see internal/buildinfo).
var version = "dev"

func runVersion(_ context.Context, e *env, _ []string) int {
	fmt.Fprintln(e.stdout, "ebb", buildinfo.Version(version))
	return exitOK
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "ebb: unknown command %q\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ebb <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}
