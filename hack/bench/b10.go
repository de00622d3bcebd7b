package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/gateway"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/proxy/transport"
)

// bigTable is hello (90/10 plus a tag host) and 999 more Services, each
// with a main and a tag host: 1000 Services, 2000 hosts.
func bigTable(generation int) route.Table {
	tab := helloTable(0, true)
	for i := range 999 {
		name := fmt.Sprintf("svc-%d", i)
		r1, r2 := fmt.Sprintf("%s-%05d", name, generation), name+"-tagged"
		tab.Routes = append(tab.Routes, route.Route{Namespace: "default", Name: name, Rules: []route.Rule{
			{Hosts: []string{name + ".example.com"}, Paths: []route.Path{{Splits: []route.Split{
				{Namespace: "default", Revision: r1, Percent: 90}, {Namespace: "default", Revision: r2, Percent: 10}}}}},
			{Hosts: []string{"tag-" + name + ".example.com"}, Paths: []route.Path{{Splits: []route.Split{
				{Namespace: "default", Revision: r2, Percent: 100}}}}},
		}})
		tab.Revisions = append(tab.Revisions, route.Revision{Namespace: "default", Name: r1}, route.Revision{Namespace: "default", Name: r2})
	}
	return route.Merge(tab)
}

type revisionsFunc func(ns, name string) (route.Revision, bool)

func (f revisionsFunc) Revision(ns, name string) (route.Revision, bool) { return f(ns, name) }

// benchB10 runs the gateway in this process (serve mode) in front of two
// apps, splits 90/10 over 100k requests while the 1000-Service table is
// swapped every 50 ms, and measures host lookup and swap time.
func benchB10(_ context.Context, e *env) error {
	fmt.Printf("\n## B10 gateway: 90/10 split, tag hosts, 1000 Services (2000 hosts), swaps under load\n\n")
	one, err := e.app("one")
	if err != nil {
		return err
	}
	defer one.stop()
	two, err := e.app("two")
	if err != nil {
		return err
	}
	defer two.stop()
	be := backend.NewStatic()
	be.Set("default", "hello-00001", []string{one.addr})
	be.Set("default", "hello-00002", []string{two.addr})
	var gw *gateway.Gateway
	act, err := activator.New(activator.Config{Backends: be, Revisions: revisionsFunc(func(ns, n string) (route.Revision, bool) { return gw.Revision(ns, n) })})
	if err != nil {
		return err
	}
	defer act.Close()
	if gw, err = gateway.New(gateway.Config{Backends: be, Activator: act, DefaultMode: route.Serve}); err != nil {
		return err
	}
	tables := []route.Table{bigTable(1), bigTable(2)}
	if err := gw.SetTable(tables[0]); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gw, Protocols: transport.ServerProtocols()}
	go srv.Serve(lis)
	defer srv.Close()
	url := "http://" + lis.Addr().String() + "/name"

	// Swap every 50 ms while the load runs.
	var stop atomic.Bool
	var swaps []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			t0 := time.Now()
			if err := gw.SetTable(tables[i%2]); err != nil {
				panic(err)
			}
			swaps = append(swaps, time.Since(t0))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	const total = 100000
	r := closedLoop(url, "hello.example.com", 16, 10*time.Minute, total)
	tag := closedLoop(url, "tag-hello.example.com", 4, time.Minute, 2000)
	stop.Store(true)
	<-done
	slices.Sort(swaps)

	hosts := []string{"hello.example.com", "Tag-Hello.example.com:8080"}
	for i := range 999 {
		hosts = append(hosts, fmt.Sprintf("svc-%d.example.com", i), fmt.Sprintf("TAG-svc-%d.example.com:80", i))
	}
	var missing atomic.Value
	lookup := testing.Benchmark(func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, _, ok := gw.Lookup(hosts[i%len(hosts)], "/", nil); !ok {
				missing.Store(hosts[i%len(hosts)])
			}
			i++
		}
	})
	if m := missing.Load(); m != nil {
		return fmt.Errorf("no route for host %v", m)
	}
	split := 100 * float64(r.bodies["two"]) / float64(max(r.ok, 1))
	fmt.Println("| measure | value | target |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| requests to the 90/10 host | %d ok, %d failed (%.0f req/s) | 0 failed |\n", r.ok, r.rejected+r.other, float64(r.ok)/r.elapsed.Seconds())
	fmt.Printf("| share of the 10%% revision | %.3f%% (error %.3f pp) | ≤ 0.5 pp |\n", split, abs(split-10))
	fmt.Printf("| tag host requests on the tagged revision | %d of %d | all |\n", tag.bodies["two"], tag.ok+tag.rejected+tag.other)
	fmt.Printf("| host lookup, 2000 hosts (mixed case, ports) | %d ns | ≤ 1000 ns |\n", lookup.NsPerOp())
	fmt.Printf("| route table swaps during the load | %d (p50 %s, max %s to compile and swap 1000 Services) | ≤ 10 ms, 0 failed requests |\n",
		len(swaps), ms(pct(swaps, 0.5)), ms(swaps[len(swaps)-1]))
	return nil
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
