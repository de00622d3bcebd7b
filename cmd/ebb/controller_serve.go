package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	gosync "sync"
	"time"

	authzv1 "k8s.io/api/authorization/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/internal/serve"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/serving/gc"
)

// controllerDrain bounds how long admin requests in flight when the
// controller stops may take.
const controllerDrain = 5 * time.Second

// report turns a failed pass into the status ConfigMap's Stalled
// condition (apply failures are reported by the Target itself), and a
// pass that leaves the source without an error into the end of it. It
// tells garbage collection the schedule planned, and the heap that a
// pass ran (see releaseFloor).
func (c *controller) report(p engine.Pass) {
	c.gc.Note(c.loop.Main())
	select {
	case c.applied <- struct{}{}:
	default:
	}
	if p.Stage == engine.StageApply {
		return
	}
	st := c.loop.Status()
	if p.Err == nil && st.LastError != "" {
		return // the head is still a commit that failed
	}
	// Written after the pass's own reports, within the term.
	c.target.Report(func(ctx context.Context) {
		if p.Err == nil {
			c.status.Resolved(ctx)
			return
		}
		c.status.Failed(ctx, st.Fetched, fmt.Errorf("%s: %w", p.Stage, p.Err))
	})
}

// reportGC logs a garbage collection that removed revisions or failed.
func (c *controller) reportGC(res *gc.Result, err error) {
	if err != nil {
		c.log.Error("garbage collection", "error", err)
		return
	}
	c.log.Info("garbage collection", "result", res.Message())
}

// serve runs the admin server, and campaigns to lead, until ctx ends. An
// admin server that fails stops the controller.
func (c *controller) serve(ctx context.Context) error {
	handler, err := c.admin()
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.o.listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	var wg gosync.WaitGroup
	wg.Go(func() {
		if err := serve.Run(serving, controllerDrain, serve.Listener{Listener: lis, Server: admin.NewServer(handler)}); err != nil {
			c.log.Error("admin server stopped", "error", err)
			cancel()
		}
	})
	// The informers run for the process, leading or not: a term starts
	// from a synced view.
	wg.Go(func() { c.eps.Run(ctx) })
	wg.Go(func() { c.runtime.Watch(ctx) })
	c.log.Info("controller started", "source", c.o.source, "url", c.src.Status().URL, "admin", lis.Addr().String(),
		"identity", c.identity, "leader-elect", c.o.leaderElect)
	// The last passes' status and Events are written before a term ends
	// (see termReports).
	runErr := c.campaign(ctx)
	stopServing()
	cancel()
	wg.Wait()
	return runErr
}

// admin serves /healthz, /readyz, /metrics, the autoscaler's stats
// endpoint (for the activators' ServiceAccount), the status, a sync
// trigger (for whom RBAC allows create on sources/sync in ebb.dev) and
// the webhook.
func (c *controller) admin() (http.Handler, error) {
	stats, err := admin.NewKubeAuth(admin.KubeConfig{Reviewer: c.k, Identities: c.o.statsIdentities})
	if err != nil {
		return nil, err
	}
	syncers, err := admin.NewKubeAuth(admin.KubeConfig{Reviewer: c.k, Access: &authzv1.ResourceAttributes{
		Namespace: c.o.namespace, Verb: "create", Group: "ebb.dev", Resource: "sources", Subresource: "sync", Name: c.o.source}})
	if err != nil {
		return nil, err
	}
	return admin.NewHandler(admin.Options{Metrics: c.reg, Ready: c.ready, Stats: c.scaler.Handler(), StatsAuth: stats, Pprof: c.o.pprof,
		JSON: map[string]func() any{
			"/v1/services": func() any { return c.status.Doc().Services },
			"/v1/status": func() any {
				return struct {
					Leading bool                `json:"leading"`
					Status  cluster.StatusDoc   `json:"status"`
					Source  engine.SourceStatus `json:"source"`
				}{c.isLeading(), c.status.Doc(), c.loop.Status()}
			},
		},
		Source: &admin.Source{Status: func() any { return []engine.SourceStatus{c.loop.Status()} }, Kick: c.kicks.Kick, Sync: syncers,
			Webhook: webhook.For([]byte(c.secret), c.log)}})
}

// ready is /readyz: the endpoints are synced.
func (c *controller) ready() error {
	if !c.eps.HasSynced() {
		return errors.New("endpoints not synced")
	}
	return nil
}
