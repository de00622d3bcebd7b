// Package gatewaycmd is the wiring of `ebb gateway`, the router with its
// activator: flags mapped to options, the route table and backends fed
// from the cluster's API (proxy/kube) or from a file, listeners opened
// and served through internal/serve (the admin one with
// admin.NewHandler), until the context ends and --drain has passed.
//
// It is data plane only: it imports the standard library, proxy/...,
// internal/kube, internal/serve and internal/admin, never the renderer,
// the engine, runtime/... or serving's rollout code (internal/layout's
// tests walk `go list -deps`).
package gatewaycmd
