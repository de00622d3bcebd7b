// Package echo is the WebSocket example's protocol: the server sends back
// every text message as it arrives; Call is its client. Both use
// golang.org/x/net/websocket.
package echo

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"golang.org/x/net/websocket"
)

// Handler answers a WebSocket upgrade with an echo of every message, and
// any other request with a line saying so.
func Handler() http.Handler {
	// No Handshake: the Origin header is not checked, so clients other
	// than browsers, which send none, are welcome.
	ws := websocket.Server{Handler: func(c *websocket.Conn) {
		for {
			var msg string
			if err := websocket.Message.Receive(c, &msg); err != nil {
				return
			}
			if err := websocket.Message.Send(c, msg); err != nil {
				return
			}
		}
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			fmt.Fprintln(w, "Connect with a WebSocket client: every message is sent back.")
			return
		}
		ws.ServeHTTP(w, r)
	})
}

// Call opens a WebSocket to ws://host/ over a TCP connection to addr (an
// ebb gateway: the host chooses the Service), sends each message, waiting
// for its echo before sending the next, and returns the echoes. ctx bounds
// the whole exchange, the opening included.
func Call(ctx context.Context, addr, host string, msgs []string) ([]string, error) {
	cfg, err := websocket.NewConfig("ws://"+host+"/", "http://"+host+"/")
	if err != nil {
		return nil, err
	}
	conn, err := new(net.Dialer).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("websocket %s through %s: %w", host, addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		return nil, fmt.Errorf("websocket %s through %s: %w", host, addr, err)
	}
	var got []string
	for _, m := range msgs {
		if err := websocket.Message.Send(ws, m); err != nil {
			return got, fmt.Errorf("send %q: %w", m, err)
		}
		var echo string
		if err := websocket.Message.Receive(ws, &echo); err != nil {
			return got, fmt.Errorf("receive the echo of %q: %w", m, err)
		}
		got = append(got, echo)
	}
	return got, nil
}
