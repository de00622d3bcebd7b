package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/examples/websocket/echo"
)

func TestEcho(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs := []string{"one", "two", "three"}
	got, err := echo.Call(ctx, strings.TrimPrefix(srv.URL, "http://"), "websocket.example.com", msgs)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(msgs, got); d != "" {
		t.Errorf("echoes (-want +got):\n%s", d)
	}

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "WebSocket") {
		t.Errorf("plain GET: %d %q", resp.StatusCode, b)
	}
}
