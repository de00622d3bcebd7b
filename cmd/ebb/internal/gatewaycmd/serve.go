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
// keeps serving for drain so that load balancers see it go, then stops
// the servers within shutdownBound (serve.Run). It returns the first
// server's failure, or nil.
func serveDraining(ctx context.Context, drain time.Duration, announce func(), ls ...serve.Listener) error {
	serving, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
		case <-serving.Done():
			return
		}
		announce()
		t := time.NewTimer(drain)
		defer t.Stop()
		select {
		case <-t.C:
		case <-serving.Done():
		}
		stop()
	}()
	return serve.Run(serving, shutdownBound, ls...)
}
