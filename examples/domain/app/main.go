// Command app is the domain example: it greets TARGET and names the host
// the request was addressed to. Behind a DomainMapping the gateway rewrites
// Host to the Service's own host and passes the mapped domain in
// K-Original-Host, so the answer shows which name the client used.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func handler(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Header.Get("K-Original-Host")
		if host == "" {
			host = r.Host
		}
		fmt.Fprintf(w, "Hello %s, reached as %s!\n", target, host)
	})
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(http.ListenAndServe(":"+port, handler(os.Getenv("TARGET"))))
}
