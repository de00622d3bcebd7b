// Package gc decides which revisions garbage collection removes from a
// ledger, with Knative's config-gc rules, as a pure function of the
// ledger, the configuration and the time.
package gc
