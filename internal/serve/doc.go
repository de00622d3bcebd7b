// Package serve is the one lifecycle of every HTTP listener ebb opens: a
// server on a listener handed in, a read-header timeout it never runs
// without, and a graceful drain bounded in time when its context ends,
// after a drain of the caller's own (Shutdown.Before) where it has one.
package serve
