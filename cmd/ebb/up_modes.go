package main

import (
	"context"

	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// gatewayModes lets the autoscaler put the activator in or out of a
// revision's path at the gateway.
type gatewayModes struct{ gw *gateway.Gateway }

func (g gatewayModes) SetMode(_ context.Context, rev scaler.RevisionKey, m scaler.Mode, _ int32) error {
	mode := gateway.Proxy
	if m == scaler.Serve {
		mode = gateway.Serve
	}
	g.gw.SetMode(rev.Namespace, rev.Name, mode)
	return nil
}

// recordStats hands the activator's stats to the in-process autoscaler.
type recordStats struct{ a *scaler.Autoscaler }

func (r recordStats) Send(_ context.Context, msgs []metric.Message) error {
	r.a.Record(msgs)
	return nil
}
