package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

// serveApp is the user container: / answers a short body, /sleep?ms=N
// sleeps first, /peak tells (and resets) the most requests it saw at once,
// /count tells (and resets) how many it served.
func serveApp(args []string) error {
	fs := flag.NewFlagSet("app", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	name := fs.String("name", "app", "name answered by /name")
	fs.Parse(args)
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	var inflight, peak, count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		count.Add(1)
		io.WriteString(w, "hello from ebb's benchmark app\n")
	})
	mux.HandleFunc("/name", func(w http.ResponseWriter, r *http.Request) { count.Add(1); io.WriteString(w, *name) })
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		inflight.Add(-1)
		count.Add(1)
		io.WriteString(w, "slept\n")
	})
	mux.HandleFunc("/peak", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, peak.Swap(0)) })
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, count.Swap(0)) })
	return http.Serve(lis, mux)
}

// serveQueue runs the queue-proxy library on one port with the defaults
// of `ebb queue`.
func serveQueue(args []string) error {
	fs := flag.NewFlagSet("queue", flag.ExitOnError)
	user := fs.String("user", "", "user container host:port")
	cc := fs.Int("cc", 0, "container concurrency")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here until the process is interrupted (off when empty)")
	fs.Parse(args)
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	s, err := queue.New(queue.Config{UserAddr: *user, ContainerConcurrency: *cc, DrainQuietPeriod: 10 * time.Millisecond,
		Timeouts: timeout.Limits{Total: 300 * time.Second}})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	return s.Serve(ctx, queue.Listeners{HTTP: lis})
}

// startCPUProfile writes a CPU profile to path until the returned stop
// runs: `bench queue -cpuprofile` profiles the queue-proxy under wrk.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// serveStock is the stock httputil.ReverseProxy with default settings.
func serveStock(args []string) error {
	fs := flag.NewFlagSet("stock", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	target := fs.String("target", "", "upstream host:port")
	fs.Parse(args)
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	u := &url.URL{Scheme: "http", Host: *target}
	return http.Serve(lis, httputil.NewSingleHostReverseProxy(u))
}
