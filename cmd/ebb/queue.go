package main

import (
	"context"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/queuecmd"
	"github.com/ebb-dev/ebb/proxy/queue"
)

// runQueue is `ebb queue`: the queue-proxy sidecar, configured by Knative's
// environment variables. It serves until SIGTERM, then drains. The wiring
// is in queuecmd, which the sidecar build (cmd/ebb/sidecar) runs too.
func runQueue(ctx context.Context, e *env, args []string) int {
	return queuecmd.Run(ctx, e.stderr, e.getenv, args)
}

// queueConfig maps a queue-proxy's environment and flags to its
// configuration, as `ebb queue` does; `ebb up` runs its queue-proxies in
// process from it.
func queueConfig(getenv func(string) string, args []string) (queue.Config, queuecmd.Ports, error) {
	return queuecmd.Config(getenv, args)
}

// discard is a flag set's output where a subcommand prints its own errors.
type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
