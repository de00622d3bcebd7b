package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Serial sends a request without a body over a kept-alive HTTP/1.1
// connection and reads the response on the caller's goroutine. The stock
// http.Transport hands every request to a writer and a reader goroutine per
// connection; at one connection those two hand-offs (and the thread
// wake-ups behind them) are a large part of a proxy hop. Requests Serial
// does not take (see Takes) go to http.Transport.
type Serial struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int
	// IdleTimeout closes a connection idle for longer (checked when
	// connections are taken and given back, against the time then).
	IdleTimeout time.Duration

	mu    sync.Mutex
	idle  map[string][]*serialConn
	swept time.Time
}

// NewSerial returns a Serial keeping up to maxIdlePerHost idle connections
// per backend, each for up to 90 s.
func NewSerial(dial func(ctx context.Context, network, addr string) (net.Conn, error), maxIdlePerHost int) *Serial {
	return &Serial{dial: dial, maxIdle: max(maxIdlePerHost, 1), idle: map[string][]*serialConn{},
		IdleTimeout: 90 * time.Second}
}

type serialConn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool
	idleAt time.Time
}

// Takes reports whether Serial sends r: plain-HTTP HTTP/1 requests
// without a body, without an upgrade and with an idempotent method, so a
// request on a connection the backend closed while idle can be sent again.
func (s *Serial) Takes(r *http.Request) bool {
	return r.URL.Scheme == "http" && r.ProtoMajor != 2 && !r.Close && bodilessIdempotent(r)
}

// bodilessIdempotent reports a request without a body, trailers or an
// upgrade, with an idempotent method: one that can be sent again.
func bodilessIdempotent(r *http.Request) bool {
	if r.ContentLength != 0 || (r.Body != nil && r.Body != http.NoBody) || len(r.Trailer) != 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	_, upgrade := r.Header["Upgrade"]
	return !upgrade
}

// errStale marks a failure on a reused connection before any response
// arrived: the backend closed it while it was idle.
var errStale = errors.New("stale connection")

// RoundTrip sends r, which Takes must accept, once more on a new
// connection when a reused one turns out to be closed.
func (s *Serial) RoundTrip(r *http.Request) (*http.Response, error) {
	for {
		resp, err := s.roundTrip(r)
		if errors.Is(err, errStale) {
			continue // the next connection is a new one or another idle one
		}
		return resp, err
	}
}

func (s *Serial) roundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	var got1xx func(int, textproto.MIMEHeader) error
	if trace := httptrace.ContextClientTrace(ctx); trace != nil {
		got1xx = trace.Got1xxResponse
	}
	return s.exchange(ctx, r.URL.Host, func(bw *bufio.Writer) error { return r.Write(bw) }, r, got1xx)
}

// exchange writes a request with write on a connection to host, and reads
// the response to r (whose method tells whether a body follows); got1xx,
// when set, is told of each 1xx response.
func (s *Serial) exchange(ctx context.Context, host string, write func(*bufio.Writer) error, r *http.Request,
	got1xx func(int, textproto.MIMEHeader) error) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pc, err := s.get(ctx, host)
	if err != nil {
		return nil, err
	}
	// A cancelled request (client gone, timeout) unblocks the read.
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		pc.c.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	werr := write(pc.bw)
	if werr == nil {
		werr = pc.bw.Flush()
	}
	if werr != nil {
		if pc.reused && ctx.Err() == nil {
			stop()
			pc.c.Close()
			return nil, errStale
		}
		return fail(werr)
	}
	if _, err := pc.br.Peek(1); err != nil {
		if pc.reused && ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			stop()
			pc.c.Close()
			return nil, errStale
		}
		return fail(err)
	}
	var resp *http.Response
	for {
		resp, err = http.ReadResponse(pc.br, r)
		if err != nil {
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if got1xx != nil {
			if err := got1xx(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// Never asked for: the connection is no longer HTTP.
		return fail(errors.New("unexpected 101 Switching Protocols"))
	}
	keep := !resp.Close
	if resp.Body == http.NoBody {
		if !stop() {
			keep = false // cancelled: the deadline is (being) set
		}
		s.release(host, pc, keep)
		return resp, nil
	}
	resp.Body = &serialBody{rc: resp.Body, s: s, host: host, pc: pc, keep: keep, stop: stop}
	return resp, nil
}

// aLongTimeAgo is a deadline in the past: it fails pending I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

func (s *Serial) get(ctx context.Context, host string) (*serialConn, error) {
	now := time.Now()
	s.mu.Lock()
	for l := s.idle[host]; len(l) > 0; l = s.idle[host] {
		pc := l[len(l)-1]
		l[len(l)-1] = nil
		s.idle[host] = l[:len(l)-1]
		if now.Sub(pc.idleAt) > s.IdleTimeout {
			pc.c.Close()
			continue
		}
		s.mu.Unlock()
		pc.reused = true
		return pc, nil
	}
	s.mu.Unlock()
	c, err := s.dial(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	return &serialConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096)}, nil
}

// release puts pc back among the idle connections, or closes it. Now and
// then it closes every connection idle for longer than IdleTimeout, so
// connections to backends no longer used do not stay open.
func (s *Serial) release(host string, pc *serialConn, keep bool) {
	if keep && pc.br.Buffered() == 0 && pc.c.SetDeadline(time.Time{}) == nil {
		now := time.Now()
		pc.idleAt = now
		s.mu.Lock()
		if now.Sub(s.swept) > s.IdleTimeout/2 {
			s.swept = now
			s.sweepLocked(now)
		}
		if l := s.idle[host]; len(l) < s.maxIdle {
			s.idle[host] = append(l, pc)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	pc.c.Close()
}

// sweepLocked closes the connections idle for longer than IdleTimeout;
// s.mu is held.
func (s *Serial) sweepLocked(now time.Time) {
	for host, l := range s.idle {
		// Oldest first: the list is used as a stack.
		n := 0
		for n < len(l) && now.Sub(l[n].idleAt) > s.IdleTimeout {
			l[n].c.Close()
			n++
		}
		if n == len(l) {
			delete(s.idle, host)
		} else if n > 0 {
			s.idle[host] = slices.Delete(l, 0, n)
		}
	}
}

// CloseIdleConnections closes every idle connection.
func (s *Serial) CloseIdleConnections() {
	s.mu.Lock()
	idle := s.idle
	s.idle = map[string][]*serialConn{}
	s.mu.Unlock()
	for _, l := range idle {
		for _, pc := range l {
			pc.c.Close()
		}
	}
}

// serialBody gives the connection back once the body was read to its end,
// and closes it when the body is closed early.
type serialBody struct {
	rc   io.ReadCloser
	s    *Serial
	host string
	pc   *serialConn
	keep bool
	stop func() bool
	done bool
}

func (b *serialBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	}
	return n, err
}

func (b *serialBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

// finish ends the body: after a complete read the connection may serve
// the next request; otherwise what is left of the body is unread and the
// connection is closed.
func (b *serialBody) finish(complete bool) {
	b.done = true
	if !b.stop() {
		// The request was cancelled: the deadline is (being) set.
		complete = false
	}
	if complete {
		b.s.release(b.host, b.pc, b.keep)
		return
	}
	b.pc.c.Close()
}
