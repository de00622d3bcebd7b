package main

import (
	"context"
	"fmt"
	"net"
	gosync "sync"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/serve"
	"github.com/ebb-dev/ebb/proxy/transport"
	"github.com/ebb-dev/ebb/runtime/local"
)

// upDrain bounds how long requests in flight when ebb up stops may take.
const upDrain = 5 * time.Second

// rolloutTick is how often ebb up looks whether a canary is due.
const rolloutTick = 250 * time.Millisecond

// run is the life of every `ebb up`: it serves the gateway on addr and
// admin (with src's endpoints) on the admin address, writing the token
// of POST /v1/sync where `ebb sync` finds it, runs the autoscaler and the
// activator, says where it serves what, and calls body, which returns
// when ctx ends; then it stops the servers, the activator and every pod,
// and waits for the goroutines body started on wg. A server that fails
// stops ebb up.
func (u *up) run(ctx context.Context, addr, adminAddr string, src *admin.Source, what string, body func(context.Context, *gosync.WaitGroup)) error {
	handler, err := u.adminHandler(src)
	if err != nil {
		return err
	}
	gwl, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	adl, err := net.Listen("tcp", adminAddr)
	if err != nil {
		gwl.Close()
		return fmt.Errorf("admin: %w", err)
	}
	tokenPath, err := admin.TokenPath(u.e.getenv, adl.Addr().(*net.TCPAddr).Port)
	if err == nil {
		err = admin.WriteToken(tokenPath, u.token)
	}
	if err != nil {
		gwl.Close()
		adl.Close()
		return err
	}
	defer admin.RemoveToken(tokenPath, u.token)
	u.mu.Lock()
	u.addr = gwl.Addr().String()
	u.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	served := make(chan struct{})
	go func() {
		defer close(served)
		err := serve.Run(serving, upDrain,
			serve.Listener{Listener: gwl, Server: transport.NewServer(u.gateway)},
			serve.Listener{Listener: adl, Server: admin.NewLocalServer(adl.Addr(), handler)})
		if err != nil {
			u.log.Error("server stopped: ebb up stops", "error", err)
			cancel()
		}
	}()
	var wg gosync.WaitGroup
	wg.Go(func() { _ = u.scaler.Run(ctx) })
	wg.Go(func() { _ = u.act.Run(ctx) })
	wg.Go(func() { engine.KickRollouts(ctx, u.planned, u.started, time.Now, rolloutTick, u.kicks.Kick) })
	fmt.Fprintf(u.e.stdout, "ebb: serving %s on http://%s (status: ebb get services --admin %s)\n", what, gwl.Addr(), adl.Addr())
	body(ctx, &wg)

	u.stop(stopServing, served)
	cancel()
	wg.Wait()
	<-served
	return nil
}

// stop stops the servers (stopServing; served is closed once they
// drained), then every pod within its grace period, saying which
// processes it waits for; when asked again (e.stopNow), it kills what
// still runs at once.
func (u *up) stop(stopServing func(), served <-chan struct{}) {
	var out gosync.Mutex
	say := func(format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(u.e.stdout, format, args...)
	}
	say("ebb: stopping (Ctrl-C again to kill every process now)\n")
	now, kill := context.WithCancel(context.Background())
	defer kill()
	go func() {
		select {
		case <-u.e.stopNow:
			say("ebb: stopping now: killing every process\n")
			kill()
		case <-now.Done():
		}
	}()
	stopServing()
	select {
	case <-served:
	case <-now.Done():
	}
	u.act.Close()
	u.runtime.Shutdown(now, func(s local.Stopping) {
		say("ebb: stopping: waiting up to %s for %s (pid %d)\n", s.Grace, s.Revision, s.PID)
	})
}
