package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	var slept []time.Duration
	srv := httptest.NewServer(handler(func(d time.Duration) { slept = append(slept, d) }))
	defer srv.Close()
	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"", 200, "slept 100ms\n"},
		{"?sleep=5", 200, "slept 5ms\n"},
		{"?sleep=999999", 200, "slept 10s\n"},
		{"?sleep=-1", 400, "sleep: want milliseconds\n"},
	} {
		resp, err := http.Get(srv.URL + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || string(b) != tc.body {
			t.Errorf("%q: %d %q, want %d %q", tc.query, resp.StatusCode, b, tc.code, tc.body)
		}
	}
	if len(slept) != 3 {
		t.Errorf("slept %v, want 3 sleeps", slept)
	}
}
