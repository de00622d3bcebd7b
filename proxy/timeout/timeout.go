package timeout

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrTimeout is the cause of a request context cancelled by a timeout.
var ErrTimeout = errors.New("request timeout")

// Limits are a revision's timeouts; zero disables one.
type Limits struct {
	// Total caps the whole request (timeoutSeconds).
	Total time.Duration
	// ResponseStart caps the time to the first byte (responseStartTimeoutSeconds).
	ResponseStart time.Duration
	// Idle caps the time between two writes (idleTimeoutSeconds).
	Idle time.Duration
}

// TimedOut reports whether ctx was cancelled by one of the timeouts.
func TimedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), ErrTimeout)
}

// Serve runs next with the limits applied. When a limit fires before
// anything was written, the client gets 504 with body msg; when it fires
// after the response started, the status stays, further writes fail and the
// request context is cancelled, which cuts the stream. next must return once
// its request context is done.
func Serve(w http.ResponseWriter, r *http.Request, l Limits, msg string, next http.Handler) {
	if l == (Limits{}) {
		next.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	tw := &writer{w: w, cancel: cancel}
	if l.Total > 0 {
		t := time.AfterFunc(l.Total, func() { tw.fire(true, false) })
		defer t.Stop()
	}
	if l.ResponseStart > 0 {
		tw.start = time.AfterFunc(l.ResponseStart, func() { tw.fire(false, true) })
		defer tw.start.Stop()
	}
	if l.Idle > 0 {
		tw.idleD = l.Idle
		tw.idle = time.AfterFunc(l.Idle, func() { tw.fire(false, false) })
		defer tw.idle.Stop()
	}
	next.ServeHTTP(tw, r.WithContext(ctx))

	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut && !tw.wrote {
		tw.wrote = true
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusGatewayTimeout)
		io.WriteString(w, msg)
	}
}

// writer records writes so a timer knows whether the response started,
// and refuses writes once a timeout fired.
type writer struct {
	w      http.ResponseWriter
	cancel context.CancelCauseFunc
	start  *time.Timer
	idle   *time.Timer
	idleD  time.Duration

	mu       sync.Mutex
	wrote    bool
	hijacked bool
	timedOut bool
}

// fire is run by a timer. A response-start timer only fires while nothing
// was written; a hijacked connection is left to the hard deadline.
func (tw *writer) fire(total, onlyBeforeWrite bool) {
	tw.mu.Lock()
	if tw.timedOut || (!total && tw.hijacked) || (onlyBeforeWrite && tw.wrote) {
		tw.mu.Unlock()
		return
	}
	tw.timedOut = true
	tw.mu.Unlock()
	tw.cancel(ErrTimeout)
}

func (tw *writer) wroteLocked() {
	tw.wrote = true
	if tw.idle != nil {
		tw.idle.Reset(tw.idleD)
	}
}

func (tw *writer) Header() http.Header { return tw.w.Header() }

func (tw *writer) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return
	}
	// 1xx responses are not the start of the final response.
	if code >= 200 {
		tw.wroteLocked()
	}
	tw.w.WriteHeader(code)
}

func (tw *writer) Write(p []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	tw.wroteLocked()
	return tw.w.Write(p)
}

// Flush sends buffered data to the client at once (streaming responses).
func (tw *writer) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return
	}
	http.NewResponseController(tw.w).Flush()
}

// FlushError is what http.ResponseController prefers over Flush.
func (tw *writer) FlushError() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return http.ErrHandlerTimeout
	}
	return http.NewResponseController(tw.w).Flush()
}

// Hijack hands the connection over (WebSocket upgrades); from then on only
// the hard deadline applies.
func (tw *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return nil, nil, http.ErrHandlerTimeout
	}
	c, rw, err := http.NewResponseController(tw.w).Hijack()
	if err == nil {
		tw.hijacked = true
		tw.wrote = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (tw *writer) Unwrap() http.ResponseWriter { return tw.w }
