// Package queue is ebb's queue-proxy: the sidecar in front of every user
// container that enforces containerConcurrency and the revision timeouts,
// answers readiness probes, drains on shutdown, and reports load to the
// autoscaler and Prometheus.
//
// It is a library: New takes a Config and Serve takes the listeners, so
// many queue-proxies can run in one process (ebb up) as well as one per pod
// (ebb queue).
package queue
