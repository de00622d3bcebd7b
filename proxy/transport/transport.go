package transport

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Auto sends HTTP/2 requests over h2c and the rest over HTTP/1.1: requests
// without a body through Serial when it is set, the others through H1.
type Auto struct {
	H1     *http.Transport
	H2     *http.Transport
	Serial *Serial
}

var _ http.RoundTripper = (*Auto)(nil)

// New returns an Auto transport that keeps up to maxIdlePerHost idle
// connections per backend (at least 1).
func New(maxIdlePerHost int) *Auto {
	maxIdlePerHost = max(maxIdlePerHost, 1)
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	h1 := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: maxIdlePerHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	h2 := &http.Transport{
		DialContext:        dialer.DialContext,
		IdleConnTimeout:    90 * time.Second,
		DisableCompression: true,
		Protocols:          new(http.Protocols),
	}
	h2.Protocols.SetUnencryptedHTTP2(true)
	return &Auto{H1: h1, H2: h2, Serial: NewSerial(dialer.DialContext, maxIdlePerHost)}
}

// RoundTrip implements http.RoundTripper.
func (a *Auto) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.ProtoMajor == 2 && r.URL.Scheme == "http" {
		return a.H2.RoundTrip(r)
	}
	if a.Serial != nil && a.Serial.Takes(r) {
		return a.Serial.RoundTrip(r)
	}
	return a.H1.RoundTrip(r)
}

// ForceH2C makes an outbound request go out over h2c even when it arrived
// as HTTP/1: a revision whose container port is named h2c only speaks
// HTTP/2 (Knative sends such revisions HTTP/2 from the ingress on).
func ForceH2C(r *http.Request) {
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
}

// CloseIdleConnections closes idle connections of both transports.
func (a *Auto) CloseIdleConnections() {
	a.H1.CloseIdleConnections()
	a.H2.CloseIdleConnections()
	if a.Serial != nil {
		a.Serial.CloseIdleConnections()
	}
}

// ServerProtocols are the protocols ebb's proxies accept on a plain TCP
// listener: HTTP/1.1 and h2c with prior knowledge.
func ServerProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// BufferPool is an httputil.BufferPool of 32 KiB copy buffers, so a proxy
// does not allocate one per request.
type BufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

// Get returns a buffer.
func (BufferPool) Get() []byte { return *(buffers.Get().(*[]byte)) }

// Put gives a buffer back.
func (BufferPool) Put(b []byte) { buffers.Put(&b) }
