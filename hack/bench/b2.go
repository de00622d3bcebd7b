package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ebb-dev/ebb/proxy/route"
)

// helloTable routes hello.example.com to hello-00001 (and a tag host to
// hello-00002 when two is set).
func helloTable(cc int, two bool) route.Table {
	t := route.Table{
		Routes: []route.Route{{Namespace: "default", Name: "hello", Rules: []route.Rule{{
			Hosts: []string{"hello.example.com"},
			Paths: []route.Path{{Splits: []route.Split{{Namespace: "default", Revision: "hello-00001", Percent: 100}}}},
		}}}},
		Revisions: []route.Revision{{Namespace: "default", Name: "hello-00001", ContainerConcurrency: cc, TimeoutSeconds: 300}},
	}
	if two {
		t.Routes[0].Rules[0].Paths[0].Splits = []route.Split{
			{Namespace: "default", Revision: "hello-00001", Percent: 90},
			{Namespace: "default", Revision: "hello-00002", Percent: 10},
		}
		t.Routes[0].Rules = append(t.Routes[0].Rules, route.Rule{Hosts: []string{"tag-hello.example.com"},
			Paths: []route.Path{{Splits: []route.Split{{Namespace: "default", Revision: "hello-00002", Percent: 100}}}}})
		t.Revisions = append(t.Revisions, route.Revision{Namespace: "default", Name: "hello-00002", ContainerConcurrency: cc, TimeoutSeconds: 300})
	}
	return t
}

// ebbGateway starts `ebb gateway` in proxy mode (every request through the
// activator) with the given queue-proxies as hello-00001's pods.
func (e *env) ebbGateway(tab route.Table, mode string, backends ...string) (*proc, error) {
	dir, err := os.MkdirTemp("", "ebb-bench-gw-")
	if err != nil {
		return nil, err
	}
	b, _ := route.Encode(tab)
	f := filepath.Join(dir, "routes.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		return nil, err
	}
	return startOnPort("/healthz", func(port int) ([]string, string, []string) {
		args := []string{"gateway", "--listen", hostPort(port), "--routes", f, "--mode", mode}
		for _, be := range backends {
			args = append(args, "--backend", "default/hello-00001="+be)
		}
		return nil, e.ebb, args
	})
}

// benchB2 is a 100 ms app under an open-loop 1000 req/s: direct, via ebb's
// queue-proxy, via ebb's gateway + activator + queue-proxy.
func benchB2(_ context.Context, e *env) error {
	fmt.Printf("\n## B2 100 ms app, open loop 1000 req/s for %s per path\n\n", e.b2d)
	app, err := e.app("app")
	if err != nil {
		return err
	}
	defer app.stop()
	q, err := e.ebbQueue(app.addr, 0)
	if err != nil {
		return err
	}
	defer q.stop()
	// The open loop sends Host 127.0.0.1:port, so the table routes that
	// host too.
	tab := helloTable(0, false)
	tab.Routes[0].Rules[0].Hosts = append(tab.Routes[0].Rules[0].Hosts, "127.0.0.1")
	gw, err := e.ebbGateway(tab, "proxy", q.addr)
	if err != nil {
		return err
	}
	defer gw.stop()
	fmt.Println("| path | requests | errors | p50 | p95 | p99 | p95 − direct p95 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	var direct95 float64
	for _, t := range []struct{ name, addr string }{{"direct", app.addr}, {"queue-proxy", q.addr}, {"gateway+activator+queue-proxy", gw.addr}} {
		lat, errs := openLoop("http://"+t.addr+"/sleep?ms=100", 1000, e.b2d)
		p95 := pct(lat, 0.95)
		if t.name == "direct" {
			direct95 = float64(p95)
		}
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %+.2f ms |\n", t.name, len(lat)+errs, errs, ms(pct(lat, 0.5)), ms(p95), ms(pct(lat, 0.99)),
			(float64(p95)-direct95)/1e6)
	}
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
