// Command app is the WebSocket example: on $PORT it answers a WebSocket
// upgrade by sending back every message (examples/websocket/echo). The
// upgraded connection passes ebb's gateway, activator and queue-proxy as
// it does Knative's.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/ebb-dev/ebb/examples/websocket/echo"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Printf("websocket: listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, echo.Handler()))
}
