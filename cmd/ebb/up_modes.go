package main

import (
	"context"

	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// gatewayModes lets the autoscaler put the activator in or out of a
// revision's path at the gateway.
type gatewayModes struct{ gw *gateway.Gateway }

func (g gatewayModes) SetMode(_ context.Context, rev scaler.RevisionKey, m route.Mode, _ int32) error {
	g.gw.SetMode(rev.Namespace, rev.Name, m)
	return nil
}

// recordStats hands the activator's stats to the in-process autoscaler.
type recordStats struct{ a *scaler.Autoscaler }

func (r recordStats) Send(_ context.Context, msgs []metric.Message) error {
	r.a.Record(msgs)
	return nil
}
