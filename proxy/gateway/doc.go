// Package gateway is ebb's ingress router: it matches a request's host,
// path and headers against the route table, splits it by percent across
// revisions, and sends it to a revision's pods (serve mode) or through the
// activator (proxy mode).
package gateway
