package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
}

// Run serves every listener until ctx ends or one of them fails, then
// shuts them all down: they stop accepting, and requests in flight get
// up to drain (Drain when zero) to finish before their connections are
// closed. A server without a ReadHeaderTimeout gets ReadHeaderTimeout.
// Run closes the listeners and returns the first server's failure, or
// nil when ctx ended.
func Run(ctx context.Context, drain time.Duration, ls ...Listener) error {
	if drain <= 0 {
		drain = Drain
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
	var failed error
	running := len(ls)
	select {
	case <-ctx.Done():
	case failed = <-errc:
		running--
		if failed == nil {
			failed = errors.New("a server stopped before its context ended")
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	for _, l := range ls {
		if err := l.Server.Shutdown(sctx); err != nil {
			_ = l.Server.Close()
		}
	}
	for ; running > 0; running-- {
		<-errc
	}
	return failed
}
