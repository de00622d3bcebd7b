// Package gatewaycmd is the wiring of `ebb gateway`, the router with its
// activator: flags mapped to options, the route table and backends fed
// from the cluster's API (proxy/kube) or from a file, listeners opened,
// served until the context ends, drained.
//
// It is data plane only: it imports the standard library, proxy/...,
// internal/kube and internal/admin, never the renderer, the engine,
// runtime/... or serving's rollout code (internal/layout's tests walk
// `go list -deps`). internal/admin still links engine/webhook, for the
// Git source's admin endpoints, which the gateway does not mount.
package gatewaycmd
