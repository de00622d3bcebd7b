package transport

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestNewServer: a data-plane server speaks HTTP/1.1 and h2c, and refuses
// a header over ServerMaxHeaderBytes in both.
func TestNewServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	if srv.ReadHeaderTimeout != ServerReadHeaderTimeout || srv.IdleTimeout != ServerIdleTimeout || srv.MaxHeaderBytes != ServerMaxHeaderBytes ||
		srv.ReadTimeout != 0 || srv.WriteTimeout != 0 {
		t.Errorf("server settings: %+v", srv)
	}
	go srv.Serve(l)
	defer srv.Close()
	tr := New(1)
	defer tr.CloseIdleConnections()
	for _, tc := range []struct {
		name   string
		h2c    bool
		header int
		code   int
		proto  string
	}{
		{"http/1.1", false, 0, 200, "HTTP/1.1"},
		{"h2c", true, 0, 200, "HTTP/2.0"},
		{"http/1.1, a large header", false, ServerMaxHeaderBytes + 8<<10, http.StatusRequestHeaderFieldsTooLarge, ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+l.Addr().String()+"/", nil)
		if tc.h2c {
			ForceH2C(req)
		}
		if tc.header > 0 {
			req.Header.Set("X-Big", strings.Repeat("x", tc.header))
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || (tc.proto != "" && string(body) != tc.proto) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.code, tc.proto)
		}
	}
}
