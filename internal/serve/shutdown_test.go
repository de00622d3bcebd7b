package serve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/serve/servetest"
)

// blocking is a handler whose requests wait for release (or for their
// connection to end); entered receives once per request that arrived.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{entered: make(chan struct{}, 8), release: make(chan struct{})}
}

func (b *blocking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	select {
	case <-b.release:
		io.WriteString(w, "done")
	case <-r.Context().Done():
	}
}

var answerOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// post sends a POST (never retried on a new connection) to addr and
// reports its body, or its error, on the channel returned.
func post(addr string) <-chan string {
	got := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/", "text/plain", nil)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	return got
}

// answers reports whether a new connection to addr gets "ok".
func answers(addr string) bool {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b) == "ok"
}

// stopped checks that Run returned nil on ran and that addr no longer
// answers.
func stopped(t *testing.T, ran <-chan error, addr string) {
	t.Helper()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if answers(addr) {
		t.Errorf("%s still answers after Run returned", addr)
	}
}

// When the context ends Before runs while every server still serves;
// the servers stop once it returns.
func TestShutdownBeforeRunsWhileServing(t *testing.T) {
	l := listen(t)
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	began, release := make(chan context.Context, 1), make(chan struct{})
	s := Shutdown{Before: func(ctx context.Context) {
		began <- ctx
		<-release
	}}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, Listener{Listener: l, Server: &http.Server{Handler: answerOK}}) }()
	cancel()
	bctx := <-began
	if !answers(addr) {
		t.Errorf("%s does not answer while Before runs", addr)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned %v while Before ran", err)
	default:
	}
	if bctx.Err() != nil {
		t.Errorf("Before's context ended (%v) with no server failing", bctx.Err())
	}
	close(release)
	stopped(t, ran, addr)
}

// A server failing while Before runs ends Before's context, and Run
// returns the failure.
func TestShutdownBeforeEndsWhenAServerFails(t *testing.T) {
	l := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	began := make(chan struct{})
	s := Shutdown{Before: func(ctx context.Context) {
		close(began)
		<-ctx.Done()
	}}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx, Listener{Listener: l, Server: &http.Server{Handler: answerOK}}) }()
	cancel()
	<-began
	l.Close()
	if err := <-ran; err == nil || !strings.Contains(err.Error(), "serve "+l.Addr().String()) {
		t.Errorf("Run: %v, want the failure of %s", err, l.Addr())
	}
}

// The servers that are not Last stop accepting together, and their
// requests in flight finish; Untracked runs after them; the Last servers
// serve until it has returned.
func TestShutdownStopsTheLastServersAfterTheOthers(t *testing.T) {
	busy, idle, last := listen(t), listen(t), listen(t)
	busyAddr, idleAddr, lastAddr := busy.Addr().String(), idle.Addr().String(), last.Addr().String()
	h := newBlocking()
	untracked, release := make(chan struct{}), make(chan struct{})
	s := Shutdown{Grace: time.Minute, Untracked: func(ctx context.Context) {
		close(untracked)
		<-release
	}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() {
		ran <- s.Run(ctx,
			Listener{Listener: busy, Server: &http.Server{Handler: h}},
			Listener{Listener: last, Server: &http.Server{Handler: answerOK}, Last: true},
			Listener{Listener: idle, Server: &http.Server{Handler: answerOK}})
	}()
	got := post(busyAddr)
	<-h.entered
	cancel()
	// Both servers stop accepting while the first still has a request in
	// flight.
	servetest.WaitRefused(t, busyAddr)
	servetest.WaitRefused(t, idleAddr)
	if !answers(lastAddr) {
		t.Errorf("the Last server %s does not answer while the others drain", lastAddr)
	}
	select {
	case <-untracked:
		t.Fatal("Untracked ran before the requests in flight finished")
	default:
	}
	close(h.release)
	if body := <-got; body != "done" {
		t.Errorf("the request in flight: %q, want done", body)
	}
	<-untracked
	if !answers(lastAddr) {
		t.Errorf("the Last server %s does not answer while Untracked runs", lastAddr)
	}
	close(release)
	stopped(t, ran, lastAddr)
}

// Untracked waits within the grace: its context ends with it, and Run
// returns then.
func TestShutdownBoundsUntracked(t *testing.T) {
	ended := make(chan error, 1)
	s := Shutdown{Grace: 20 * time.Millisecond, Untracked: func(ctx context.Context) {
		<-ctx.Done()
		ended <- ctx.Err()
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, Listener{Listener: listen(t), Server: &http.Server{Handler: answerOK}}); err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-ended; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Untracked's context ended with %v, want the grace's deadline", err)
	}
}
