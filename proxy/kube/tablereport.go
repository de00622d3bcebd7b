package kube

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	kubeapi "github.com/ebb-dev/ebb/internal/kube"
)

// GatewayComponent is the source of the gateway's Events.
const GatewayComponent = "ebb-gateway"

// gatewayEventQueue bounds the Events waiting to be written: a burst of
// changes beyond it (thousands of bad tables at once) is logged and
// counted, not recorded.
const gatewayEventQueue = 64

// GatewayEvents records on a route-table ConfigMap, in its namespace,
// what the gateway made of it, each time that changes: Warning
// RouteTableRefused (does not decode or compile; stale or refused),
// HostsRefused (served without hosts its namespace does not own),
// RouteTableIgnored (not rendered by ebb), and Normal RouteTableServed
// once it is served whole again. They are written in the background.
type GatewayEvents struct {
	w     kubeapi.EventWriter
	queue chan TableReport
}

// NewGatewayEvents returns the Events of the gateway pod host.
func NewGatewayEvents(k *kubeapi.Clients, host string, log *slog.Logger) *GatewayEvents {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GatewayEvents{w: kubeapi.EventWriter{Clients: k, Component: GatewayComponent, Host: host, Log: log},
		queue: make(chan TableReport, gatewayEventQueue)}
}

// table queues the Event of one report.
func (e *GatewayEvents) table(r TableReport) {
	select {
	case e.queue <- r:
	default:
		e.w.Log.Warn("route table event dropped: too many at once", "configmap", r.Namespace+"/"+r.Name, "state", r.State)
	}
}

// run writes the queued Events until ctx ends.
func (e *GatewayEvents) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-e.queue:
			typ, reason := corev1.EventTypeWarning, "RouteTableRefused"
			switch r.State {
			case TableServed:
				typ, reason = corev1.EventTypeNormal, "RouteTableServed"
			case TablePartial:
				reason = "HostsRefused"
			case TableIgnored:
				reason = "RouteTableIgnored"
			}
			msg := string(r.State)
			if len(r.Problems) > 0 {
				msg += ": " + strings.Join(r.Problems, "; ")
			}
			if len(msg) > 1024 {
				msg = msg[:1000] + fmt.Sprintf("… (%d problems)", len(r.Problems))
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			e.w.Emit(wctx, time.Now(), r.Namespace, corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: r.Namespace, Name: r.Name},
				typ, reason, msg)
			cancel()
		}
	}
}

// RouteTableMetrics is the gateway's ebb_gateway_route_tables{state}: how
// many route-table ConfigMaps are in each state (served, partial, stale,
// refused, ignored).
type RouteTableMetrics struct {
	tables *prometheus.GaugeVec
}

// NewRouteTableMetrics registers the series with reg.
func NewRouteTableMetrics(reg prometheus.Registerer) (*RouteTableMetrics, error) {
	m := &RouteTableMetrics{tables: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ebb_gateway_route_tables",
		Help: "Route-table ConfigMaps by what the gateway made of them (served, partial, stale, refused, ignored).",
	}, []string{"state"})}
	if err := reg.Register(m.tables); err != nil {
		return nil, fmt.Errorf("register route table metrics: %w", err)
	}
	for _, s := range TableStates {
		m.tables.WithLabelValues(string(s))
	}
	return m, nil
}

func (m *RouteTableMetrics) set(reports []TableReport) {
	n := counts(reports)
	for _, s := range TableStates {
		m.tables.WithLabelValues(string(s)).Set(float64(n[s]))
	}
}
