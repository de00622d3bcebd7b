// Package proxy is ebb's request path: the queue-proxy sidecar, the
// activator and the gateway router.
package proxy
