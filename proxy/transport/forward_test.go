package transport

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// front serves a proxy on loopback that forwards every request with o
// (Addr set to backend) and answers 502 with the error when none arrived.
func front(t *testing.T, s *Serial, o Outbound) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Forwardable(r) {
			http.Error(w, "not forwardable", http.StatusBadRequest)
			return
		}
		o := o
		if err := s.Forward(w, r, &o); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// rawGet sends a request as written and returns the response.
func rawGet(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestForwardFields(t *testing.T) {
	type seen struct {
		Host, URI string
		Header    http.Header
	}
	got := make(chan seen, 1)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		got <- seen{r.Host, r.RequestURI, h}
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "a")
		io.WriteString(w, "hello")
	})
	s := newSerial()
	f := front(t, s, Outbound{Addr: addr, Host: "app.example.com", Drop: []string{"X-Secret"}, DropPrefix: "Knative-Serving-",
		Add: []Field{{"X-Forwarded-For", "10.0.0.1"}, {"K-Proxy-Request", "activator"}}})
	resp := rawGet(t, f, "GET /p/a%2Fb?c=2&x=1;y=2&b=%zz&a=1 HTTP/1.1\r\nHost: in.example.com\r\n"+
		"Connection: keep-alive, X-Conn-Listed\r\nX-Conn-Listed: 1\r\nKeep-Alive: 300\r\nProxy-Authorization: secret\r\n"+
		"Te: trailers, deflate\r\nUpgrade-Insecure-Requests: 1\r\nX-Secret: s\r\nKnative-Serving-Revision: r\r\n"+
		"Knative-Serving-: kept\r\nForwarded: for=evil\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\n"+
		"X-Multi: a\r\nX-Multi: b\r\nContent-Length: 0\r\n\r\n")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("response %d %q, want 200 hello", resp.StatusCode, body)
	}
	in := <-got
	want := seen{Host: "app.example.com", URI: "/p/a%2Fb?a=1&c=2", Header: http.Header{
		"Te":                        {"trailers"},
		"Upgrade-Insecure-Requests": {"1"},
		"Knative-Serving-":          {"kept"},
		"X-Multi":                   {"a", "b"},
		"X-Forwarded-For":           {"10.0.0.1"},
		"K-Proxy-Request":           {"activator"},
	}}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("request at the backend (-want +got):\n%s", diff)
	}
	for _, k := range []string{"Connection", "X-Hop", "Keep-Alive"} {
		if v, ok := resp.Header[k]; ok && k != "Connection" {
			t.Errorf("response field %s: %q reached the client", k, v)
		}
	}
	if resp.Header.Get("X-App") != "a" {
		t.Errorf("response field X-App = %q, want a", resp.Header.Get("X-App"))
	}
}

func TestForwardHostDefaultsToAddr(t *testing.T) {
	got := make(chan string, 1)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { got <- r.Host })
	f := front(t, newSerial(), Outbound{Addr: addr})
	resp := rawGet(t, f, "GET / HTTP/1.1\r\nHost: in.example.com\r\n\r\n")
	resp.Body.Close()
	if h := <-got; h != addr {
		t.Errorf("Host at the backend = %q, want %q", h, addr)
	}
}

func TestForwardInvalidHost(t *testing.T) {
	addr, conns := backend(t, func(w http.ResponseWriter, r *http.Request) {})
	f := front(t, newSerial(), Outbound{Addr: addr, Host: "a b"})
	resp := rawGet(t, f, "GET / HTTP/1.1\r\nHost: in.example.com\r\n\r\n")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || conns.Load() != 0 {
		t.Errorf("status %d after %d connections, want 502 before any", resp.StatusCode, conns.Load())
	}
}

func TestForwardInformational(t *testing.T) {
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	})
	f := front(t, newSerial(), Outbound{Addr: addr})
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, "http://"+f+"/", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if diff := cmp.Diff([]string{"</style.css>; rel=preload"}, hints); diff != "" {
		t.Errorf("103 Link fields (-want +got):\n%s", diff)
	}
	if string(body) != "done" || resp.Header.Get("Link") != "" {
		t.Errorf("final response %q with Link %q, want done without Link", body, resp.Header.Get("Link"))
	}
}

func TestForwardTrailers(t *testing.T) {
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "data")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})
	f := front(t, newSerial(), Outbound{Addr: addr})
	resp, err := http.Get("http://" + f + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	want := http.Header{"X-Sum": {"42"}, "X-Late": {"late"}}
	if diff := cmp.Diff(want, resp.Trailer); diff != "" {
		t.Errorf("trailers (-want +got):\n%s", diff)
	}
}

func TestForwardEventStreamFlushed(t *testing.T) {
	release := make(chan struct{})
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", "22") // known length: flushed for its type
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: 2\n\n\n\n\n\n")
	})
	defer close(release)
	f := front(t, newSerial(), Outbound{Addr: addr})
	// Without the flush the first event never comes: the client gives up.
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get("http://" + f + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first event %q, %v; want it before the stream ends", line, err)
	}
}

func TestForwardBodyErrorAborts(t *testing.T) {
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		c, bw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		bw.Flush()
		c.Close()
	})
	f := front(t, newSerial(), Outbound{Addr: addr})
	resp, err := http.Get("http://" + f + "/")
	if err != nil {
		return // cut short before the fields went out
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("body %q read without error; want the response cut short", b)
	}
}

func TestForwardable(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		want      bool
	}{
		{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"head", "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"get with empty body", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", true},
		{"post", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", false},
		{"get with body", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", false},
		{"chunked", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.req)))
			if err != nil {
				t.Fatal(err)
			}
			if got := Forwardable(r); got != tc.want {
				t.Errorf("Forwardable = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestForwardReusesConnections: responses read to their end give their
// connection back, so sequential requests share one.
func TestForwardReusesConnections(t *testing.T) {
	addr, conns := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	f := front(t, newSerial(), Outbound{Addr: addr})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for range 20 {
		resp, err := c.Get("http://" + f + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential requests opened %d connections to the backend, want 1", n)
	}
}
