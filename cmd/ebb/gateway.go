package main

import (
	"context"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/gatewaycmd"
)

// runGateway is `ebb gateway`: the router with its activator, in a
// cluster or from a route table file. The wiring is in gatewaycmd, which
// links no control-plane package.
func runGateway(ctx context.Context, e *env, args []string) int {
	return gatewaycmd.Run(ctx, gatewaycmd.Env{Stdout: e.stdout, Stderr: e.stderr, Getenv: e.getenv, Version: version}, args)
}
