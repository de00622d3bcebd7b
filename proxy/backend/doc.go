// Package backend holds, in memory, a revision's ready addresses (Static)
// and the activators serving it (Peers), and tells watchers when they
// change: the Backends and Peers that ebb's activator and gateway read,
// for a standalone gateway, for tests and for the local runtime.
package backend
