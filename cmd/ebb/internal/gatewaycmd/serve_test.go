package gatewaycmd

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/serve"
)

// listenOK binds one server answering "ok" on a free port.
func listenOK(t *testing.T) []serve.Listener {
	t.Helper()
	ls, err := listen(addressed{"127.0.0.1:0", &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})}})
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// When the context ends, the gateway announces that it drains and keeps
// answering for the drain; a server failing meanwhile ends it.
func TestServeDrainingAnswersWhileItDrains(t *testing.T) {
	ls := listenOK(t)
	addr := ls[0].Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	announced := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- serveDraining(ctx, time.Hour, func() { close(announced) }, ls...) }()
	cancel()
	<-announced
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("a request while draining: %v", err)
	}
	resp.Body.Close()
	select {
	case err := <-done:
		t.Fatalf("serveDraining returned %v before the drain ended", err)
	default:
	}
	ls[0].Listener.Close()
	if err := <-done; err == nil {
		t.Error("serveDraining: nil after its server failed, want the failure")
	}
}

// Once the drain has passed, the servers stop and serveDraining returns.
func TestServeDrainingStopsAfterTheDrain(t *testing.T) {
	ls := listenOK(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	announced := false
	if err := serveDraining(ctx, 0, func() { announced = true }, ls...); err != nil {
		t.Fatalf("serveDraining: %v", err)
	}
	if !announced {
		t.Error("the drain was never announced")
	}
}
