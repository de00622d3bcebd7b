// Package backend holds a revision's ready addresses in memory and tells
// watchers when they change: the Backends that ebb's activator and gateway
// read, for a standalone gateway, for tests and for the local runtime.
package backend
