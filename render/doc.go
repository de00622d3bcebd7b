// Package render turns planned Services and their ledgers into the
// Kubernetes objects ebb applies: pure functions, sorted output, the same
// bytes on every run.
package render
