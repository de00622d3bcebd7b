package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTraffic(t *testing.T) {
	srv := httptest.NewServer(handler("traffic-00002", "v2"))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "traffic-00002 (v2)\n" {
		t.Errorf("body = %q", b)
	}
}
