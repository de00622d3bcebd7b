// Package transport provides the round tripper ebb's proxies use towards
// the next hop: HTTP/2 requests go out as h2c (prior knowledge), every other
// request as HTTP/1.1, so a protocol survives every hop of the path; bodiless
// idempotent HTTP/1.1 requests are sent and answered on the caller's
// goroutine over kept-alive connections. Forward is a proxy's lean path
// for those requests: the outbound request is written straight from the
// inbound one and the response handed on without copies of either.
package transport
