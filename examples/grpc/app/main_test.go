package main

import (
	"io"
	"net"
	"net/http"
	"testing"
)

func TestH2C(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server("")
	go srv.Serve(ln)
	defer srv.Close()

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2 := &http.Client{Transport: &http.Transport{Protocols: &p}}
	for _, tc := range []struct {
		client *http.Client
		want   string
	}{{h2, "Hello over HTTP/2.0\n"}, {http.DefaultClient, "Hello over HTTP/1.1\n"}} {
		resp, err := tc.client.Get("http://" + ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("body = %q, want %q", b, tc.want)
		}
	}
}
