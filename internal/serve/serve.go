package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of a Listener that sets none.
const (
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's header, for a server that does not bound it itself.
	ReadHeaderTimeout = 10 * time.Second
	// Drain bounds how long requests in flight when the context ends may
	// take to finish.
	Drain = 5 * time.Second
)

// Listener is one server on one listener: the listener is bound by the
// caller (":0" included) and handed in, so that its address is known
// before anything is served and no port is probed and closed.
type Listener struct {
	Listener net.Listener
	Server   *http.Server
	// Last keeps the server serving until the others have drained: a
	// server that reports on them (load stats, metrics) or answers for
	// their drain.
	Last bool
}

// Shutdown is how Run stops its servers once its context ends.
type Shutdown struct {
	// Before, when set, runs first, while every server still serves: a
	// drain announced to load balancers, Knative's quiet period. The
	// servers stop accepting once it returns. Its context ends when a
	// server fails meanwhile, and Before must then return.
	Before func(ctx context.Context)
	// Grace bounds how long requests in flight when the servers stop
	// accepting may take to finish (Drain when zero); the connections
	// still open then are closed.
	Grace time.Duration
	// Untracked, when set, waits for the handlers a server's own
	// shutdown does not wait for (those of hijacked, upgraded
	// connections), within the grace, which its context carries. The
	// Last servers stop after it returns.
	Untracked func(ctx context.Context)
}

// Run serves every listener until ctx ends or one of them fails, then
// shuts them all down: they stop accepting, and requests in flight get
// up to drain (Drain when zero) to finish before their connections are
// closed. A server without a ReadHeaderTimeout gets ReadHeaderTimeout.
// Run closes the listeners and returns the first server's failure, or
// nil when ctx ended.
func Run(ctx context.Context, drain time.Duration, ls ...Listener) error {
	return Shutdown{Grace: drain}.Run(ctx, ls...)
}

// Run is the package's Run stopping the servers as s says: when ctx
// ends, Before runs while they serve; then the servers that are not Last
// stop accepting, all at once, and their requests in flight finish
// within the grace (Untracked waits for the hijacked ones); then the
// Last servers stop, within what is left of it. A server that fails
// stops the others at once, without Before.
func (s Shutdown) Run(ctx context.Context, ls ...Listener) error {
	grace := s.Grace
	if grace <= 0 {
		grace = Drain
	}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		if l.Server.ReadHeaderTimeout <= 0 {
			l.Server.ReadHeaderTimeout = ReadHeaderTimeout
		}
		go func() {
			err := l.Server.Serve(l.Listener)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			} else if err != nil {
				err = fmt.Errorf("serve %s: %w", l.Listener.Addr(), err)
			}
			errc <- err
		}()
	}
	running := len(ls)
	failed := s.serve(ctx, errc)
	if failed != nil {
		running--
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	stop(sctx, ls, false)
	if s.Untracked != nil {
		s.Untracked(sctx)
	}
	stop(sctx, ls, true)
	for ; running > 0; running-- {
		<-errc
	}
	return failed
}

// serve waits until ctx has ended and Before has returned, and returns
// nil; or until a server fails, and returns its failure (read from
// errc).
func (s Shutdown) serve(ctx context.Context, errc <-chan error) error {
	select {
	case <-ctx.Done():
	case err := <-errc:
		return stoppedEarly(err)
	}
	if s.Before == nil {
		return nil
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Before(bctx)
	}()
	select {
	case <-done:
		return nil
	case err := <-errc:
		cancel()
		<-done
		return stoppedEarly(err)
	}
}

// stoppedEarly is the failure of a server that stopped before Run
// stopped it.
func stoppedEarly(err error) error {
	if err == nil {
		return errors.New("a server stopped before its context ended")
	}
	return err
}

// stop shuts down, all at once, the servers of ls whose Last is last:
// each stops accepting and waits for its requests in flight until ctx
// ends, when its connections are closed.
func stop(ctx context.Context, ls []Listener, last bool) {
	var wg sync.WaitGroup
	for _, l := range ls {
		if l.Last != last {
			continue
		}
		wg.Go(func() {
			if err := l.Server.Shutdown(ctx); err != nil {
				_ = l.Server.Close()
			}
		})
	}
	wg.Wait()
}
