package activator

import (
	"context"
	"net/http"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/transport"
)

// dropOut are the inbound fields the activator does not pass on: the
// routing facts the gateway added, and K-Proxy-Request, which it sets.
var (
	dropOut             = []string{header.Revision, header.Namespace, header.ProxyRequest}
	dropOutOriginalHost = []string{header.Revision, header.Namespace, header.ProxyRequest, header.OriginalHost}
)

// forward sends r to the pod t: bodiless HTTP/1 requests on the lean path
// of the transport, the others through the reverse proxy. Both send the
// same fields (see New's Rewrite).
func (a *Activator) forward(w http.ResponseWriter, r *http.Request, t target) {
	if a.serial == nil || t.h2c || !transport.Forwardable(r) {
		a.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)))
		return
	}
	xff, host, proto := header.XForwarded(r)
	o := transport.Outbound{Addr: t.addr, Drop: dropOut}
	add := make([]transport.Field, 0, 5)
	add = append(add, transport.Field{Key: "X-Forwarded-Host", Value: host}, transport.Field{Key: "X-Forwarded-Proto", Value: proto})
	if xff != "" {
		add = append(add, transport.Field{Key: "X-Forwarded-For", Value: xff})
	}
	if v := r.Header[header.OriginalHost]; len(v) == 0 || v[0] == "" {
		o.Drop = dropOutOriginalHost
		add = append(add, transport.Field{Key: header.OriginalHost, Value: r.Host})
	}
	o.Add = append(add, transport.Field{Key: header.ProxyRequest, Value: header.ProxyActivator})
	if err := a.serial.Forward(w, r, &o); err != nil {
		writeError(w, r, err)
	}
}
