// Command sidecar is ebb's queue-proxy as its own small binary: the
// container injected into every revision pod (config-deployment's default
// queue-sidecar-image). It runs exactly what `ebb queue` runs, from the
// same wiring (cmd/ebb/internal/queuecmd), and links nothing else of ebb,
// so a pod does not carry client-go, kustomize and go-git in its memory.
//
//	sidecar [queue] [flags]   the queue-proxy (Knative's environment)
//	sidecar version           print the version
//
// The full ebb binary keeps `ebb queue`; either image serves as the
// queue-proxy.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/queuecmd"
	"github.com/ebb-dev/ebb/internal/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// version is set at link time (-ldflags "-X main.version=…"), as ebb's.
var version = "dev"

// run dispatches the sidecar's command line: `queue`, nothing, or flags
// alone run the queue-proxy; `version` prints the version.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		return queuecmd.Run(ctx, stderr, getenv, args)
	}
	switch {
	case args[0] == "queue":
		return queuecmd.Run(ctx, stderr, getenv, args[1:])
	case args[0] == "version":
		fmt.Fprintln(stdout, "ebb", buildinfo.Version(version), "(queue-proxy sidecar)")
		return queuecmd.ExitOK
	case args[0] == "help" || isHelp(args[0]):
		usage(stdout)
		return queuecmd.ExitOK
	}
	fmt.Fprintf(stderr, "ebb sidecar: unknown command %q: this build runs only the queue-proxy; the ebb binary has the others\n", args[0])
	usage(stderr)
	return queuecmd.ExitUsage
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sidecar [queue] [flags]   run the queue-proxy sidecar (Knative env vars)")
	fmt.Fprintln(w, "       sidecar version           print ebb's version")
}
