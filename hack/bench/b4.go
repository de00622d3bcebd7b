package main

import (
	"context"
	"fmt"
)

// benchB4 puts the activator in the path in front of two warm pods and
// compares with one pod reached directly.
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
	viaServe, err := e.runWrk("http://"+serve.addr+"/", 8, "hello.example.com")
	if err != nil {
		return err
	}
	imb := 0.0
	if total > 0 {
		mean := float64(total) / 2
		imb = (float64(max(counts[0], counts[1])) - mean) / mean * 100
	}
	fmt.Println("| path | req/s | p50 | p99 | non-2xx | ratio to direct | pod-a / pod-b requests | imbalance |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	fmt.Printf("| direct (one pod) | %.0f | %s | %s | %d | 1.00 | – | – |\n", direct.rps, ms(direct.p50), ms(direct.p99), direct.errors)
	fmt.Printf("| gateway+activator → 2 queue-proxies | %.0f | %s | %s | %d | %.2f | %d / %d | %.1f%% |\n",
		via.rps, ms(via.p50), ms(via.p99), via.errors, via.rps/direct.rps, counts[0], counts[1], imb)
	fmt.Printf("| gateway (serve mode, no activator) → 2 queue-proxies | %.0f | %s | %s | %d | %.2f | – | – |\n",
		viaServe.rps, ms(viaServe.p50), ms(viaServe.p99), viaServe.errors, viaServe.rps/direct.rps)
	fmt.Printf("\nActivator in the path vs the same path without it: %.2f×.\n", via.rps/viaServe.rps)
	return nil
}
