package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/admin"
	"github.com/ebb-dev/ebb/serving"
)

// adminHandler is what the admin address serves: GET /healthz, /metrics,
// /v1/services and /v1/domainmappings (open to this machine, for `ebb
// get`), POST /v1/sync with the token, and src's other endpoints (nil:
// none). Stats are not among them: the activator and the queue-proxies
// run in this process and the autoscaler reads them directly.
func (u *up) adminHandler(src *admin.Source) (http.Handler, error) {
	if src == nil {
		src = &admin.Source{}
	}
	src.Kick, src.Sync = u.kicks.Kick, admin.Bearer(u.token)
	return admin.NewHandler(admin.Options{Metrics: u.metrics, Source: src, JSON: map[string]func() any{
		"/v1/services": func() any { return u.status() },
		"/v1/domainmappings": func() any {
			return append([]engine.DomainMappingStatus{}, engine.DomainMappingStatuses(u.applied())...)
		},
	}})
}

// status is what `ebb get` reads: the state applied, now.
func (u *up) status() []engine.ServiceStatus { return u.target.Status(u.applied(), time.Now()) }

// printURLs prints each Service's URLs with a ready-to-paste curl line,
// when they changed since the last time.
func (u *up) printURLs() {
	u.mu.Lock()
	addr := u.addr
	u.mu.Unlock()
	var b strings.Builder
	for _, s := range u.status() {
		fmt.Fprintf(&b, "  %s/%s  %s  (%s)\n", s.Namespace, s.Name, s.URL, serving.FormatTraffic(s.Traffic))
		fmt.Fprintf(&b, "    curl -H 'Host: %s' http://%s/\n", hostOf(s.URL), addr)
		for _, t := range s.Tags {
			fmt.Fprintf(&b, "    %s: curl -H 'Host: %s' http://%s/\n", t.Tag, hostOf(t.URL), addr)
		}
	}
	u.mu.Lock()
	same := b.String() == u.shown
	u.shown = b.String()
	u.mu.Unlock()
	if !same {
		fmt.Fprint(u.e.stdout, "ebb: services\n"+b.String())
	}
}

func hostOf(raw string) string {
	if p, err := url.Parse(raw); err == nil && p.Host != "" {
		return p.Host
	}
	return raw
}
