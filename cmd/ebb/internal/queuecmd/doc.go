// Package queuecmd is the wiring of `ebb queue`, the queue-proxy sidecar:
// Knative's queue-proxy environment and ebb's flags mapped to a
// queue.Config, listeners opened, served until the context ends, drained.
//
// Two commands use it: the full `ebb` binary (`ebb queue`) and the
// sidecar build in cmd/ebb/sidecar, a main package that links only this
// package and the proxy libraries, so the container injected into every
// revision pod carries none of client-go, kustomize or go-git.
//
// It imports nothing but the standard library, proxy/... and scaler/metric
// (a test in cmd/ebb/sidecar walks `go list -deps`).
package queuecmd
