package main

import (
	"os"
	"context"
	"fmt"
	"time"
)

// benchB1 is the proxy hop: direct vs ebb's queue-proxy (CC=0, CC=10) vs
// the stock httputil.ReverseProxy vs Knative's queue-proxy (CC=0, CC=10).
func benchB1(_ context.Context, e *env) error {
	fmt.Printf("\n## B1 proxy hop (wrk, %s per run, hello body)\n\n", e.d)
	app, err := e.app("app")
	if err != nil {
		return err
	}
	defer app.stop()
	type target struct {
		name  string
		start func() (*proc, error)
	}
	targets := []target{
		{"direct", func() (*proc, error) { return nil, nil }},
		{"ebb CC=0", func() (*proc, error) { return e.ebbQueue(app.addr, 0) }},
		{"knative CC=0", func() (*proc, error) { return e.knativeQueue(app.addr, 0) }},
		{"stock ReverseProxy", func() (*proc, error) { return e.stock(app.addr) }},
		{"ebb CC=10", func() (*proc, error) { return e.ebbQueue(app.addr, 10) }},
		{"knative CC=10", func() (*proc, error) { return e.knativeQueue(app.addr, 10) }},
	}
	conns := []int{1, 8, 32}
	res := map[string]map[int]wrkResult{}
	rss := map[string]int{}
	for _, t := range targets {
		p, err := t.start()
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		addr := app.addr
		if p != nil {
			addr = p.addr
			rss[t.name] = p.rssKiB()
		}
		res[t.name] = map[int]wrkResult{}
		for _, c := range conns {
			r, err := e.runWrk("http://"+addr+"/", c, "")
			if err != nil {
				if p != nil {
					p.stop()
				}
				return err
			}
			res[t.name][c] = r
			fmt.Fprintf(os.Stderr, "B1 %-20s c=%-3d %9.0f req/s p50 %s\n", t.name, c, r.rps, ms(r.p50))
		}
		if p != nil {
			p.stop()
		}
	}
	fmt.Println("| target | conns | req/s | p50 | p99 | added p50 | non-2xx | idle RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, t := range targets {
		for _, c := range conns {
			r := res[t.name][c]
			added := r.p50 - res["direct"][c].p50
			rs := "–"
			if k := rss[t.name]; k > 0 {
				rs = fmt.Sprintf("%.1f MiB", float64(k)/1024)
			}
			fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %d | %s |\n", t.name, c, r.rps, ms(r.p50), ms(r.p99), ms(added), r.errors, rs)
		}
	}
	fmt.Println()
	fmt.Println("| conns | CC | ebb / knative req/s | ebb / stock req/s | ebb added p50 / knative added p50 |")
	fmt.Println("|---|---|---|---|---|")
	for _, cc := range []string{"0", "10"} {
		for _, c := range conns {
			eb, kn, st, d := res["ebb CC="+cc][c], res["knative CC="+cc][c], res["stock ReverseProxy"][c], res["direct"][c]
			fmt.Printf("| %d | %s | %.2f× | %.2f× | %.2f |\n", c, cc, eb.rps/kn.rps, eb.rps/st.rps,
				float64(eb.p50-d.p50)/float64(max(kn.p50-d.p50, time.Microsecond)))
		}
	}
	return nil
}
