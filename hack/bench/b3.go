package main

import (
	"context"
	"fmt"
	"strings"
)

// benchB3 checks concurrency enforcement: CC=1 and CC=10, a 10 ms app, 50
// and 200 closed-loop clients through ebb's queue-proxy.
func benchB3(_ context.Context, e *env) error {
	fmt.Printf("\n## B3 concurrency enforcement (10 ms app, closed loop, %s per run)\n\n", e.d)
	app, err := e.app("app")
	if err != nil {
		return err
	}
	defer app.stop()
	fmt.Println("| CC | clients | 200/s | target 0.95×CC/10ms | ratio to no-proxy row | 503 queue full | other errors | peak in flight at app |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, cc := range []int{1, 10} {
		// The ceiling on this machine: CC clients straight to the app.
		r := closedLoop("http://"+app.addr+"/sleep?ms=10", "", cc, e.d, 0)
		base := float64(r.ok) / r.elapsed.Seconds()
		fmt.Printf("| %d (no proxy: %d client(s) straight to the app) | %d | %.0f | %.0f | 1.00 | – | %d | – |\n", cc, cc, cc,
			base, 0.95*float64(cc)*100, r.other)
		q, err := e.ebbQueue(app.addr, cc)
		if err != nil {
			return err
		}
		for _, clients := range []int{50, 200} {
			get("http://" + app.addr + "/peak")
			r := closedLoop("http://"+q.addr+"/sleep?ms=10", "", clients, e.d, 0)
			peak, _ := get("http://" + app.addr + "/peak")
			ok := float64(r.ok) / r.elapsed.Seconds()
			fmt.Printf("| %d | %d | %.0f | %.0f | %.2f | %d | %d | %s |\n", cc, clients, ok,
				0.95*float64(cc)*100, ok/base, r.rejected, r.other, strings.TrimSpace(peak))
		}
		q.stop()
	}
	return nil
}
