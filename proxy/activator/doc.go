// Package activator is ebb's activator: it finds the revision a request is
// for, holds the request while the revision has no ready pod (reporting the
// demand to the autoscaler at once), probes new pods, and load-balances
// across them within each pod's containerConcurrency.
package activator
