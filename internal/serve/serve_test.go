package serve

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/internal/serve/servetest"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A request in flight when the context ends is answered in full; the
// listener then refuses new connections.
func TestRunDrainsRequestsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	l := listen(t)
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, time.Minute, Listener{Listener: l, Server: &http.Server{Handler: h}}) }()

	type answer struct {
		Code int
		Body string
		Err  string
	}
	got := make(chan answer, 1)
	go func() {
		// A POST, which the client never retries on a new connection.
		resp, err := http.Post("http://"+addr+"/", "text/plain", nil)
		if err != nil {
			got <- answer{Err: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- answer{Code: resp.StatusCode, Body: string(b)}
	}()
	<-entered
	cancel()
	// Once the listener refuses connections, Run is draining; it has not
	// returned while the handler runs.
	servetest.WaitRefused(t, addr)
	select {
	case err := <-ran:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}
	close(release)
	if diff := cmp.Diff(answer{Code: 200, Body: "done"}, <-got); diff != "" {
		t.Errorf("the request in flight (-want +got):\n%s", diff)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Run returned", addr)
	}
}

// A request that outlasts the drain does not keep Run from returning.
func TestRunBoundsTheDrain(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	l := listen(t)
	addr := l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, 50*time.Millisecond, Listener{Listener: l, Server: &http.Server{Handler: h}}) }()
	client := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		client <- err
	}()
	<-entered
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := <-client; err == nil {
		t.Error("the request outlasting the drain was answered; want its connection closed")
	}
}

// A server that fails stops the others, and Run says which failed.
func TestRunStopsWhenAServerFails(t *testing.T) {
	broken := listen(t)
	broken.Close()
	ok := listen(t)
	okAddr := ok.Addr().String()
	err := Run(context.Background(), 0,
		Listener{Listener: ok, Server: &http.Server{Handler: http.NotFoundHandler()}},
		Listener{Listener: broken, Server: &http.Server{Handler: http.NotFoundHandler()}})
	if err == nil || !strings.Contains(err.Error(), "serve "+broken.Addr().String()) {
		t.Errorf("Run: %v, want the failure of %s", err, broken.Addr())
	}
	if c, err := net.Dial("tcp", okAddr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Run returned", okAddr)
	}
}

// Every server runs with a read-header timeout: its own, or
// ReadHeaderTimeout.
func TestRunSetsAReadHeaderTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set, want time.Duration
	}{
		{"unset", 0, ReadHeaderTimeout},
		{"its own", 30 * time.Second, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: tc.set}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := Run(ctx, 0, Listener{Listener: listen(t), Server: srv}); err != nil {
				t.Fatal(err)
			}
			if srv.ReadHeaderTimeout != tc.want {
				t.Errorf("ReadHeaderTimeout %s, want %s", srv.ReadHeaderTimeout, tc.want)
			}
		})
	}
}
