package gatewaycmd

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/ebb-dev/ebb/internal/serve"
)

// shutdownBound bounds how long requests in flight when the gateway's
// servers stop (after --drain) may take to finish.
const shutdownBound = 30 * time.Second

// addressed is a server and the address it is to listen on.
type addressed struct {
	addr string
	srv  *http.Server
}

// listen binds each server's address, in order, for serve.Run; when one
// cannot be bound it closes those already bound.
func listen(ss ...addressed) ([]serve.Listener, error) {
	ls := make([]serve.Listener, 0, len(ss))
	for _, s := range ss {
		lis, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range ls {
				l.Listener.Close()
			}
			return nil, err
		}
		ls = append(ls, serve.Listener{Listener: lis, Server: s.srv})
	}
	return ls, nil
}

// serveDraining serves ls until ctx ends and drain has passed since: when
// ctx ends it calls announce (the gateway's health checks start failing),
// keeps serving for drain so that load balancers see it go (serve's
// Before), then stops the servers within shutdownBound. It returns the
// first server's failure, or nil.
func serveDraining(ctx context.Context, drain time.Duration, announce func(), ls ...serve.Listener) error {
	return serve.Shutdown{Grace: shutdownBound, Before: func(ctx context.Context) {
		announce()
		t := time.NewTimer(drain)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}}.Run(ctx, ls...)
}
