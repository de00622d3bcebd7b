package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	gosync "sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/engine/git"
	"github.com/ebb-dev/ebb/internal/heap"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/leader"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
	"github.com/ebb-dev/ebb/serving"
)

// campaign leads while this replica holds the Lease (always, without
// --leader-elect), until ctx ends. A replica that loses the Lease (taken
// by another, or not renewed in time while the apiserver was away) has
// stopped leading when leader.Run returns, and campaigns again at once:
// the process and its admin server stay up.
func (c *controller) campaign(ctx context.Context) error {
	if !c.o.leaderElect {
		c.lead(ctx, ctx)
		return nil
	}
	cfg := c.o.lease
	cfg.Namespace, cfg.Name, cfg.Identity = c.o.namespace, "ebb-controller", c.identity
	for {
		err := leader.Run(ctx, c.k.Coordination, cfg, func(term context.Context) { c.lead(ctx, term) })
		if !errors.Is(err, leader.ErrLost) {
			return err
		}
		c.log.Warn("lost the lead; campaigning again", "identity", c.identity)
	}
}

// lead is the leader's work: the autoscaler and endpoint switching, the
// sync loop, garbage collection on config-gc's schedule, and a status
// refresh every 10 s, until the term ends (ctx is the process's). It
// returns once all of it has stopped, the term's reports included (see
// termReports): every write of a term is made before lead returns. Each
// term starts as a new process would: another replica may have led since
// this one last did.
func (c *controller) lead(process, ctx context.Context) {
	c.log.Info("leading", "identity", c.identity)
	defer c.log.Info("stopped leading", "identity", c.identity)
	// The first pass plans the head and compares every object with the
	// cluster; the public EndpointSlices are read again, and each
	// revision's mode set anew by the autoscaler, whose revisions start
	// afresh (see scaler.Autoscaler.Run).
	c.ssa.Forget()
	c.loop.Again()
	c.runtime.Reset()
	c.setLeading(true)
	defer c.setLeading(false)
	defer c.termReports(process, ctx)()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { c.runtime.Run(ctx) })
	wg.Go(func() { c.kingresses.Run(ctx) })
	if !c.runtime.WaitForSync(ctx) || !c.kingresses.WaitForSync(ctx) {
		return
	}
	if err := c.status.Load(ctx); err != nil {
		c.log.Warn("status", "error", err)
	}
	if err := c.claimAutoscaler(ctx); err != nil {
		c.log.Error("point the autoscaler Service at this pod", "error", err)
	}
	wg.Go(func() { _ = c.scaler.Run(ctx) })
	c.mu.Lock()
	since := c.leadSince
	c.mu.Unlock()
	wg.Go(func() { engine.KickRollouts(ctx, c.loop.Main, since, time.Now, rolloutTick, c.kicks.Kick) })
	if c.loop.Statuses != nil {
		// Only the leader posts commit statuses.
		wg.Go(func() { c.loop.Statuses.Run(ctx) })
	}
	// The loop commits a collection; the next pass applies it.
	wg.Go(func() { c.gc.Run(ctx, func(now time.Time) { collectAndKick(ctx, c.gc, now, c.kicks) }) })
	wg.Go(func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.status.Refresh(ctx)
			}
		}
	})
	wg.Go(func() {
		heap.ReleaseWhenQuiet(ctx, c.applied, time.Second, func() { heap.Release(releaseFloor) })
	})
	_ = c.loop.Run(ctx, git.Poll{Interval: *c.o.git.poll, Jitter: 0.1}, c.kicks)
}

// termReports makes the term the Target's reports' (the status
// ConfigMap, Events), and returns what ends them, once the term's other
// work has stopped. A term ended by a lost Lease ends its reports at
// once: another replica may lead now. A term ended by the process
// stopping first writes what its last passes reported, for at most
// flushTimeout, while this replica still holds the Lease.
func (c *controller) termReports(process, term context.Context) (end func()) {
	reports, endReports := context.WithCancel(context.WithoutCancel(term))
	lost := context.AfterFunc(term, func() {
		if process.Err() == nil {
			endReports()
		}
	})
	c.target.Term(reports)
	return func() {
		lost()
		if process.Err() != nil {
			flush, stop := context.WithTimeout(reports, c.flushTimeout())
			if err := c.target.Flush(flush); err != nil {
				c.log.Warn("status and Events left unwritten", "error", err)
			}
			stop()
		}
		endReports()
		// What is left was made in the term and is dropped with it.
		_ = c.target.Flush(context.Background())
	}
}

// controllerFlush bounds the writing of the last passes' status and
// Events when the controller stops.
const controllerFlush = 5 * time.Second

// flushTimeout is controllerFlush, or less when the Lease is shorter: a
// leader renewed its Lease within the renew deadline, and no other
// replica takes it until the Lease duration has passed since, so a flush
// that ends within their difference ends before another replica leads.
// (A timing left at zero takes leader.Run's default, 15 s and 10 s: their
// difference is controllerFlush.)
func (c *controller) flushTimeout() time.Duration {
	if d := c.o.lease.LeaseDuration - c.o.lease.RenewDeadline; c.o.leaderElect && d > 0 && d < controllerFlush {
		return d
	}
	return controllerFlush
}

// releaseFloor is the smallest heap worth handing back once no pass has
// run for a second. A pass renders every object of the source (about 40
// MB of maps for 1000 Services) and drops them all; between passes the
// controller needs only its steady state.
const releaseFloor = 16 << 20

func (c *controller) setLeading(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leading, c.leadSince = v, time.Time{}
	if v {
		c.leadSince = time.Now()
	}
}

// observed is what the cluster has shown of the revisions (which became
// ready), and their figures since this replica leads, and of the
// KIngresses (what their net-* controllers have programmed), now. A replica
// that does not lead judges no canary.
func (c *controller) observed() serving.Observed {
	o := c.runtime.Observed()
	o.Now = time.Now()
	o.Programmed = c.kingresses.Programmed()
	c.mu.Lock()
	o.Since = c.leadSince
	c.mu.Unlock()
	if o.Since.IsZero() {
		o.Since = o.Now
	}
	o.Figures = func(namespace, revision string, from, to time.Time) metric.Figures {
		return c.scaler.Figures(scaler.RevisionKey{Namespace: namespace, Name: revision}, from, to)
	}
	return o
}

func (c *controller) isLeading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

// claimAutoscaler points the selector-less autoscaler Service at this
// pod, so that the gateways' activators push their stats to the leader.
func (c *controller) claimAutoscaler(ctx context.Context) error {
	ip := c.e.getenv("POD_IP")
	if ip == "" || c.o.autoscaler == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(c.o.listen)
	if err != nil {
		return err
	}
	var p int32
	if _, err := fmt.Sscan(port, &p); err != nil {
		return fmt.Errorf("--listen %s: %w", c.o.listen, err)
	}
	_, err = cluster.ApplySlice(ctx, c.k, cluster.Slice{Namespace: c.o.namespace, Name: c.o.autoscaler,
		Labels: map[string]string{discoveryv1.LabelServiceName: c.o.autoscaler, discoveryv1.LabelManagedBy: proxykube.ManagedBy},
		Ports:  []cluster.SlicePort{{Name: "http", Port: p}}, Addresses: []string{ip}}, cluster.AutoscalerManager)
	return err
}
