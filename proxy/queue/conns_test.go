package queue

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ebb-dev/ebb/proxy/internal/testenv"
)

// countingApp is a user container that counts the connections it accepted.
func countingApp(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	l := testenv.Listen(t)
	conns = new(atomic.Int64)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), conns
}

// TestConnectionsToAppAreReused: one client in a row uses one connection
// to the user container for requests without a body and one for requests
// with a body; ten at once at CC=10 never need more than ten.
func TestConnectionsToAppAreReused(t *testing.T) {
	for _, cc := range []int{0, 10} {
		addr, conns := countingApp(t)
		q := start(t, Config{UserAddr: addr, ContainerConcurrency: cc})
		for range 20 {
			if code, body := get(t, q.base+"/", nil); code != http.StatusOK || body != "ok" {
				t.Fatalf("CC=%d: GET = %d %q, want 200 ok", cc, code, body)
			}
		}
		if n := conns.Load(); n != 1 {
			t.Errorf("CC=%d: 20 GETs in a row used %d connections to the app, want 1", cc, n)
		}
		for range 5 {
			resp, err := http.Post(q.base+"/", "text/plain", strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if n := conns.Load(); n != 2 {
			t.Errorf("CC=%d: after 5 POSTs in a row: %d connections to the app, want 2", cc, n)
		}
		if cc == 0 {
			continue
		}
		var wg sync.WaitGroup
		for range cc {
			wg.Go(func() {
				for range 10 {
					resp, err := http.Get(q.base + "/")
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		// Bodiless requests hold at most cc connections (the breaker lets
		// cc through); the POSTs' connection is the one more.
		if n := conns.Load(); n > int64(cc)+1 {
			t.Errorf("CC=%d: %d clients at once: %d connections to the app, want at most %d", cc, cc, n, cc+1)
		}
	}
}
