package queue

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/serve/servetest"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/timeout"
)

// draining is a queue-proxy serving on loopback listeners until the test
// ends; cancel stands for SIGTERM.
type draining struct {
	s                  *Server
	l                  Listeners
	main, admin, stats string
	cancel             context.CancelFunc
	done               chan struct{}
	err                error // Serve's, once done is closed
}

// serveDraining serves a queue-proxy for cfg. When the test ends it
// cancels, closes the listeners (which ends any quiet period) and waits
// for Serve.
func serveDraining(t *testing.T, cfg Config) *draining {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := Listeners{HTTP: testenv.Listen(t), Admin: testenv.Listen(t), Stats: testenv.Listen(t)}
	ctx, cancel := context.WithCancel(context.Background())
	d := &draining{s: s, l: l, cancel: cancel, done: make(chan struct{}),
		main: l.HTTP.Addr().String(), admin: l.Admin.Addr().String(), stats: l.Stats.Addr().String()}
	go func() {
		defer close(d.done)
		d.err = s.Serve(ctx, l)
	}()
	t.Cleanup(func() {
		cancel()
		for _, lis := range []net.Listener{l.HTTP, l.Admin, l.Stats} {
			lis.Close()
		}
		<-d.done
	})
	return d
}

// returned reports whether Serve has returned.
func (d *draining) returned() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// probe sends the kubelet's readiness probe to the serving port.
func (d *draining) probe(t *testing.T) (int, string) {
	t.Helper()
	code, body := get(t, "http://"+d.main+"/", map[string]string{"K-Network-Probe": "queue"})
	return code, strings.TrimSpace(body)
}

// statsAnswer reports whether the stats port answers a new connection.
func (d *draining) statsAnswer() bool {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + d.stats + "/metrics")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// pastTheQuietPeriod sends SIGTERM (cancels) while what the test keeps
// open holds the queue-proxy, waits until its quiet period is over (the
// serving port refuses connections) and checks that it has not returned
// and the stats port still answers.
func (d *draining) pastTheQuietPeriod(t *testing.T, with string) {
	t.Helper()
	d.cancel()
	servetest.WaitRefused(t, d.main)
	if !d.statsAnswer() {
		t.Errorf("the stats port does not answer with %s", with)
	}
	if d.returned() {
		t.Fatalf("Serve returned %v with %s", d.err, with)
	}
}

// When SIGTERM arrives the queue-proxy answers probes as draining while
// it keeps serving requests, for as long as the quiet period lasts; a
// server failing ends the quiet period.
func TestServeSaysDrainingForTheQuietPeriod(t *testing.T) {
	d := serveDraining(t, Config{UserAddr: testenv.StartApp(t), DrainQuietPeriod: time.Hour})
	if code, body := d.probe(t); code != http.StatusOK {
		t.Fatalf("probe before SIGTERM: %d %q", code, body)
	}
	d.cancel()
	code, body := d.probe(t)
	for n := 0; code == http.StatusOK && n < 1000; n++ {
		time.Sleep(time.Millisecond)
		code, body = d.probe(t)
	}
	if code != http.StatusServiceUnavailable || body != msgShuttingDown {
		t.Errorf("probe in the quiet period: %d %q, want 503 %q", code, body, msgShuttingDown)
	}
	if code, body := get(t, "http://"+d.main+"/name", nil); code != http.StatusOK || body != "app" {
		t.Errorf("request in the quiet period: %d %q, want 200 app", code, body)
	}
	if d.returned() {
		t.Fatalf("Serve returned %v in the quiet period", d.err)
	}
	d.l.Stats.Close()
	<-d.done
	if d.err == nil || !strings.Contains(d.err.Error(), d.stats) {
		t.Errorf("Serve: %v, want the failure of the stats server %s", d.err, d.stats)
	}
}

// A request in flight when SIGTERM arrives is answered in full once the
// quiet period is over and the serving port refuses connections; the
// stats port answers until then, and Serve returns after it.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	user := testenv.Listen(t)
	go http.Serve(user, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
			io.WriteString(w, "done")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { user.Close() })
	d := serveDraining(t, Config{UserAddr: user.Addr().String(), DrainQuietPeriod: time.Millisecond})
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + d.main + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- http.StatusText(resp.StatusCode) + " " + string(b)
	}()
	<-entered
	d.pastTheQuietPeriod(t, "a request in flight")
	close(release)
	if body := <-got; body != "OK done" {
		t.Errorf("the request in flight: %q, want OK done", body)
	}
	<-d.done
	if d.err != nil {
		t.Errorf("Serve: %v", d.err)
	}
	servetest.WaitRefused(t, d.stats)
}

// upgrade opens a WebSocket through the queue-proxy to the test app's
// echo and checks that it echoes; the connection is closed when the test
// ends.
func upgrade(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	echoes(t, c, br)
	return c
}

// echoes writes a line on an upgraded connection and reads it back.
func echoes(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	io.WriteString(c, "ping\n")
	if line, err := br.ReadString('\n'); line != "ping\n" {
		t.Fatalf("echo: %q %v", line, err)
	}
}

// An upgraded connection, which the servers' shutdown does not track,
// keeps Serve (and the stats port) up until it closes.
func TestServeWaitsForUpgradedConnections(t *testing.T) {
	d := serveDraining(t, Config{UserAddr: testenv.StartApp(t), DrainQuietPeriod: time.Millisecond, HijackGrace: time.Hour})
	ws := upgrade(t, d.main)
	d.pastTheQuietPeriod(t, "an upgraded connection open")
	ws.Close()
	<-d.done
	if d.err != nil {
		t.Errorf("Serve: %v", d.err)
	}
}

// Requests that outlast the grace (timeoutSeconds plus the hijack grace)
// do not keep Serve from returning: a plain request's connection is
// closed.
func TestServeStopsWithinTheGrace(t *testing.T) {
	// No timeoutSeconds: the grace is the hijack grace alone.
	d := serveDraining(t, Config{UserAddr: testenv.StartApp(t), DrainQuietPeriod: time.Millisecond,
		Timeouts: timeout.Limits{}, HijackGrace: 20 * time.Millisecond})
	upgrade(t, d.main)
	failed := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + d.main + "/sleep?ms=3600000")
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	for n := 0; d.s.tracker.InFlight() < 2; n++ {
		if n > 5000 {
			t.Fatal("the plain request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	d.cancel()
	<-d.done
	if d.err != nil {
		t.Errorf("Serve: %v", d.err)
	}
	if err := <-failed; err == nil {
		t.Error("the request outlasting the grace was answered; want its connection closed")
	}
}
