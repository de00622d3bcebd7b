package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"
)

// idleWait is how long a proxy sits without requests before its idle RSS
// is read: ebb's queue-proxy returns freed heap to the OS in the first
// quiet stats second after traffic, within 2 s of the last request.
const idleWait = 3 * time.Second

// benchB1 is the proxy hop: direct vs ebb's queue-proxy (CC=0, CC=10; the
// full `ebb` binary and the sidecar build) vs the stock
// httputil.ReverseProxy vs Knative's queue-proxy (CC=0, CC=10). Every
// target runs in every round, in a rotated order; the tables show the
// median of the rounds. In the first round each proxy's idle RSS is read
// twice: idleWait after it answered its first request, and idleWait after
// its wrk runs.
func benchB1(_ context.Context, e *env) error {
	fmt.Printf("\n## B1 proxy hop (wrk, %s per run, %d rounds, median; small body)\n\n", e.d, e.rounds)
	app, err := e.app("app")
	if err != nil {
		return err
	}
	defer app.stop()
	type target struct {
		name  string
		bin   string // the executable, for its size
		start func() (*proc, error)
	}
	targets := []target{
		{"direct", "", func() (*proc, error) { return nil, nil }},
		{"ebb CC=0", e.ebb, func() (*proc, error) { return e.ebbQueue(app.addr, 0) }},
		{"knative CC=0", e.knative, func() (*proc, error) { return e.knativeQueue(app.addr, 0) }},
		{"stock ReverseProxy", e.self, func() (*proc, error) { return e.stock(app.addr) }},
		{"ebb CC=10", e.ebb, func() (*proc, error) { return e.ebbQueue(app.addr, 10) }},
		{"knative CC=10", e.knative, func() (*proc, error) { return e.knativeQueue(app.addr, 10) }},
		{"ebb sidecar CC=0", e.sidecar, func() (*proc, error) { return e.sidecarQueue(app.addr, 0) }},
		{"ebb sidecar CC=10", e.sidecar, func() (*proc, error) { return e.sidecarQueue(app.addr, 10) }},
	}
	conns := []int{1, 8, 32}
	runs := map[string]map[int][]wrkResult{}
	idleStart, idleServed := map[string]rss{}, map[string]rss{}
	for round := range e.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			p, err := t.start()
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			addr := app.addr
			if p != nil {
				addr = p.addr
				if round == 0 {
					time.Sleep(idleWait)
					idleStart[t.name] = p.rss()
				}
			}
			if runs[t.name] == nil {
				runs[t.name] = map[int][]wrkResult{}
			}
			for _, c := range conns {
				r, err := e.runWrk("http://"+addr+"/", c, "")
				if err != nil {
					if p != nil {
						p.stop()
					}
					return err
				}
				runs[t.name][c] = append(runs[t.name][c], r)
				fmt.Fprintf(os.Stderr, "B1 round %d %-26s c=%-3d %9.0f req/s p50 %s\n", round, t.name, c, r.rps, ms(r.p50))
			}
			if p != nil {
				if round == 0 {
					time.Sleep(idleWait)
					idleServed[t.name] = p.rss()
				}
				p.stop()
			}
		}
	}
	res := map[string]map[int]wrkResult{}
	for name, byConns := range runs {
		res[name] = map[int]wrkResult{}
		for c, rs := range byConns {
			res[name][c] = median(rs)
		}
	}
	fmt.Println("| target | conns | req/s | p50 | p99 | added p50 | non-2xx |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, t := range targets {
		for _, c := range conns {
			r := res[t.name][c]
			added := r.p50 - res["direct"][c].p50
			fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %d |\n", t.name, c, r.rps, ms(r.p50), ms(r.p99), ms(added), r.errors)
		}
	}
	fmt.Println()
	fmt.Println("| conns | CC | ebb / knative req/s | ebb / stock req/s | ebb added p50 / knative added p50 | sidecar / knative req/s | sidecar added p50 / knative added p50 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, cc := range []string{"0", "10"} {
		for _, c := range conns {
			eb, sc, kn, st, d := res["ebb CC="+cc][c], res["ebb sidecar CC="+cc][c], res["knative CC="+cc][c], res["stock ReverseProxy"][c], res["direct"][c]
			knAdded := float64(max(kn.p50-d.p50, time.Microsecond))
			fmt.Printf("| %d | %s | %.2f× | %.2f× | %.2f | %.2f× | %.2f |\n", c, cc, eb.rps/kn.rps, eb.rps/st.rps,
				float64(eb.p50-d.p50)/knAdded, sc.rps/kn.rps, float64(sc.p50-d.p50)/knAdded)
		}
	}
	fmt.Printf("\nIdle RSS (VmRSS, anonymous part in parentheses), read %s after the first answer and %s after the process's wrk runs (%d requests or more), in round 1:\n\n",
		idleWait, idleWait, minRequests(runs, conns, e.d))
	fmt.Println("| process | executable | idle RSS after start | idle RSS after serving |")
	fmt.Println("|---|---|---|---|")
	for _, t := range targets {
		if t.bin == "" {
			continue
		}
		fmt.Printf("| %s | %s | %s | %s |\n", t.name, fileSize(t.bin), idleStart[t.name], idleServed[t.name])
	}
	return nil
}

// minRequests is the fewest requests any proxy served in its first round.
func minRequests(runs map[string]map[int][]wrkResult, conns []int, d time.Duration) int {
	least := -1
	for name, byConns := range runs {
		if name == "direct" {
			continue
		}
		n := 0
		for _, c := range conns {
			n += int(byConns[c][0].rps * d.Seconds())
		}
		if least < 0 || n < least {
			least = n
		}
	}
	return least
}

func fileSize(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "–"
	}
	return fmt.Sprintf("%.1f MB", float64(st.Size())/1e6)
}

// median takes the median of each measure separately.
func median(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	errs := 0
	for _, r := range rs {
		errs += r.errors
	}
	return wrkResult{
		rps:    pick(func(r wrkResult) float64 { return r.rps }),
		p50:    time.Duration(pick(func(r wrkResult) float64 { return float64(r.p50) })),
		p99:    time.Duration(pick(func(r wrkResult) float64 { return float64(r.p99) })),
		errors: errs,
	}
}
