// Command client sends each argument (default: one two three) over a
// WebSocket to the websocket example, through an ebb gateway, and prints
// the echoes:
//
//	go run ./examples/websocket/client -addr 127.0.0.1:8080 -host websocket.default.svc.cluster.local hi there
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ebb-dev/ebb/examples/websocket/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the gateway: ebb up's --addr, or ebb gateway's --listen")
	host := flag.String("host", "websocket.default.svc.cluster.local", "the Service's host")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long the exchange may take, a scale from zero included")
	flag.Parse()
	msgs := flag.Args()
	if len(msgs) == 0 {
		msgs = []string{"one", "two", "three"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	echoes, err := echo.Call(ctx, *addr, *host, msgs)
	cancel()
	stop()
	for _, e := range echoes {
		fmt.Println(e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}
