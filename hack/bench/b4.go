package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// benchB4 puts the activator in the path in front of two warm pods and
// compares with two baselines: one app reached directly, and the two pods
// (queue-proxy + app, as Knative counts a pod) reached directly with the
// connections split evenly between their queue-proxies.
func benchB4(_ context.Context, e *env) error {
	fmt.Printf("\n## B4 activator in the path, 2 warm pods (wrk 8 connections, %s)\n\n", e.d)
	var apps, queues []*proc
	for _, n := range []string{"pod-a", "pod-b"} {
		a, err := e.app(n)
		if err != nil {
			return err
		}
		defer a.stop()
		q, err := e.ebbQueue(a.addr, 0)
		if err != nil {
			return err
		}
		defer q.stop()
		apps, queues = append(apps, a), append(queues, q)
	}
	gw, err := e.ebbGateway(helloTable(0, false), "proxy", queues[0].addr, queues[1].addr)
	if err != nil {
		return err
	}
	defer gw.stop()
	direct, err := e.runWrk("http://"+apps[0].addr+"/", 8, "")
	if err != nil {
		return err
	}
	pods, err := e.runWrkSplit([]string{"http://" + queues[0].addr + "/", "http://" + queues[1].addr + "/"}, 8)
	if err != nil {
		return err
	}
	// Warm: the activator probes the pods on the revision's first request.
	warm(gw.addr, "hello.example.com")
	for _, a := range apps {
		get("http://" + a.addr + "/count")
	}
	via, err := e.runWrk("http://"+gw.addr+"/", 8, "hello.example.com")
	if err != nil {
		return err
	}
	var counts []int
	total := 0
	for _, a := range apps {
		s, _ := get("http://" + a.addr + "/count")
		counts = append(counts, atoi(s))
		total += atoi(s)
	}
	serve, err := e.ebbGateway(helloTable(0, false), "serve", queues[0].addr, queues[1].addr)
	if err != nil {
		return err
	}
	defer serve.stop()
	warm(serve.addr, "hello.example.com")
	viaServe, err := e.runWrk("http://"+serve.addr+"/", 8, "hello.example.com")
	if err != nil {
		return err
	}
	imb := 0.0
	if total > 0 {
		mean := float64(total) / 2
		imb = (float64(max(counts[0], counts[1])) - mean) / mean * 100
	}
	fmt.Println("| path | req/s | p50 | p99 | non-2xx | ratio to direct (one app) | ratio to direct (2 pods) | pod-a / pod-b requests | imbalance |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	row := func(name string, r wrkResult, rest string) {
		fmt.Printf("| %s | %.0f | %s | %s | %d | %.2f | %.2f | %s |\n", name, r.rps, ms(r.p50), ms(r.p99), r.errors,
			r.rps/direct.rps, r.rps/pods.rps, rest)
	}
	row("direct (one app, no queue-proxy)", direct, "– | –")
	row("direct to the 2 pods (4 connections to each queue-proxy, no gateway)", pods, "– | –")
	row("gateway+activator → 2 queue-proxies", via, fmt.Sprintf("%d / %d | %.1f%%", counts[0], counts[1], imb))
	row("gateway (serve mode, no activator) → 2 queue-proxies", viaServe, "– | –")
	fmt.Printf("\nActivator in the path vs the same path without it: %.2f×.\n", via.rps/viaServe.rps)
	return nil
}

// runWrkSplit runs one wrk per URL at once, conns split evenly between
// them (one thread each), and sums the request rates; p50 and p99 are the
// larger of the runs' (no merged histogram).
func (e *env) runWrkSplit(urls []string, conns int) (wrkResult, error) {
	per := max(conns/len(urls), 1)
	res := make([]wrkResult, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(e.wrk, "-t", "1", "-c", strconv.Itoa(per), "-d", fmt.Sprintf("%ds", int(e.d/time.Second)),
				"--latency", u).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("wrk %s: %w\n%s", u, err, out)
				return
			}
			res[i], errs[i] = parseWrk(string(out))
		}()
	}
	wg.Wait()
	var sum wrkResult
	for i := range res {
		if errs[i] != nil {
			return wrkResult{}, errs[i]
		}
		sum.rps += res[i].rps
		sum.p50, sum.p99 = max(sum.p50, res[i].p50), max(sum.p99, res[i].p99)
		sum.errors += res[i].errors
	}
	return sum, nil
}

// warm sends a few requests for host through a gateway, so the timed run
// starts with the pods probed and connections open.
func warm(addr, host string) {
	for range 16 {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		if err != nil {
			return
		}
		req.Host = host
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}
