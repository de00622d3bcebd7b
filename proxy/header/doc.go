// Package header names the HTTP headers ebb's data plane speaks (Knative's
// names) and builds the RFC 7239 Forwarded header.
package header
