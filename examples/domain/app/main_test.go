package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHost(t *testing.T) {
	srv := httptest.NewServer(handler("example.org"))
	defer srv.Close()
	for _, tc := range []struct {
		host, original, want string
	}{
		{"site.default.example.com", "", "Hello example.org, reached as site.default.example.com!\n"},
		{"site.default.svc.cluster.local", "www.example.org", "Hello example.org, reached as www.example.org!\n"},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Host = tc.host
		if tc.original != "" {
			req.Header.Set("K-Original-Host", tc.original)
		}
		resp, err := http.DefaultClient.Do(req)
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
