// Package layout holds no code: its test enforces which of ebb's packages
// may import which (data plane never control plane, serving never proxy,
// render only proxy/route of proxy), reading the import graph from
// `go list`.
package layout
