// Command app is the h2c example: a server that speaks HTTP/2 without TLS
// (prior knowledge) as well as HTTP/1.1, and answers with the protocol the
// request arrived on. Its Service names the port "h2c", so ebb's proxies
// speak HTTP/2 to it end to end, as gRPC needs.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello over %s\n", r.Proto)
	})
}

func server(addr string) *http.Server {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &http.Server{Addr: addr, Handler: handler(), Protocols: &p}
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(server(":" + port).ListenAndServe())
}
