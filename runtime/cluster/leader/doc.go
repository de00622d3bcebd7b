// Package leader runs work in at most one process of many at a time,
// elected through a coordination.k8s.io Lease.
package leader
