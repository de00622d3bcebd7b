// Package probe parses a user container's readiness probes (the JSON of
// Knative's SERVING_READINESS_PROBE) and runs them against the container:
// HTTP GET, TCP connect, or gRPC health check over h2c.
package probe
