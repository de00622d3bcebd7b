package probe

import (
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Probe
		wantErr bool
	}{
		{"", nil, false},
		{`{"tcpSocket":{"port":8080,"host":"127.0.0.1"},"successThreshold":1}`,
			[]Probe{{TCPSocket: &TCPSocketAction{Port: Port{Number: 8080}, Host: "127.0.0.1"}, SuccessThreshold: 1}}, false},
		{`[{"httpGet":{"path":"/ready","port":"8080","httpHeaders":[{"name":"X","value":"y"}]},"periodSeconds":2},{"grpc":{"port":9000,"service":"s"}}]`,
			[]Probe{
				{HTTPGet: &HTTPGetAction{Path: "/ready", Port: Port{Number: 8080}, HTTPHeaders: []HTTPHeader{{"X", "y"}}}, PeriodSeconds: 2},
				{GRPC: &GRPCAction{Port: 9000, Service: ptr("s")}},
			}, false},
		{`{"httpGet":{"port":"http"}}`, []Probe{{HTTPGet: &HTTPGetAction{Port: Port{Name: "http"}}}}, false},
		{`{"periodSeconds":1}`, nil, true},
		{`{"httpGet":{},"tcpSocket":{}}`, nil, true},
		{`{`, nil, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Parse(%s) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%s) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`{"tcpSocket":{"port":8080}}`)
	f.Add(`[{"httpGet":{"path":"/","port":"x"}}]`)
	f.Fuzz(func(t *testing.T, s string) {
		Parse(s)
	})
}

// serve starts h on a loopback port (HTTP/1 and h2c) and returns the port.
func serve(t *testing.T, h http.Handler) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: p}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestProberKinds(t *testing.T) {
	var ready atomic.Bool
	port := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ready":
			if !ready.Load() || r.Header.Get("X-Want") != "me" {
				http.Error(w, "no", http.StatusServiceUnavailable)
			}
		case "/grpc.health.v1.Health/Check":
			w.Header().Set("Trailer", "Grpc-Status")
			msg := []byte{0x08, 0x02} // NOT_SERVING
			if ready.Load() {
				msg = []byte{0x08, 0x01}
			}
			frame := make([]byte, 5)
			binary.BigEndian.PutUint32(frame[1:], 2)
			w.Write(append(frame, msg...))
			w.Header().Set("Grpc-Status", "0")
		}
	}))
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()

	once := func(p Probe) Probe { p.PeriodSeconds = 1; return p }
	cases := []struct {
		name  string
		probe Probe
		ready bool
		want  bool
	}{
		{"http not ready", once(Probe{HTTPGet: &HTTPGetAction{Path: "/ready", HTTPHeaders: []HTTPHeader{{"X-Want", "me"}}}}), false, false},
		{"http ready", once(Probe{HTTPGet: &HTTPGetAction{Path: "/ready", HTTPHeaders: []HTTPHeader{{"X-Want", "me"}}}}), true, true},
		{"tcp", once(Probe{TCPSocket: &TCPSocketAction{}}), true, true},
		{"tcp dead", once(Probe{TCPSocket: &TCPSocketAction{Port: Port{Number: int32(dead)}}}), true, false},
		{"grpc not serving", once(Probe{GRPC: &GRPCAction{Port: int32(port)}}), false, false},
		{"grpc serving", once(Probe{GRPC: &GRPCAction{Port: int32(port)}}), true, true},
		{"aggressive http", Probe{HTTPGet: &HTTPGetAction{Path: "/ready", HTTPHeaders: []HTTPHeader{{"X-Want", "me"}}}, SuccessThreshold: 2}, true, true},
	}
	for _, tc := range cases {
		ready.Store(tc.ready)
		p := NewProber([]Probe{tc.probe}, port)
		if got := p.Ready(context.Background()); got != tc.want {
			t.Errorf("%s: Ready = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConcurrentCallersShareOneRun(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	port := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
	}))
	p := NewProber([]Probe{{HTTPGet: &HTTPGetAction{Path: "/"}, PeriodSeconds: 1, TimeoutSeconds: 30}}, port)
	var wg sync.WaitGroup
	results := make(chan bool, 10)
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); results <- p.Ready(context.Background()) }()
	}
	for n := 0; ; n++ {
		p.mu.Lock()
		joined := p.joined
		p.mu.Unlock()
		if joined == 9 {
			break
		}
		if n > 1e7 {
			t.Fatalf("only %d callers joined the run in flight", joined)
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		if !r {
			t.Error("a caller saw not ready")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d probe requests for 10 concurrent callers, want 1", n)
	}
}
