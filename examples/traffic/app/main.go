// Command app is the traffic example: it answers with the revision that
// served the request (K_REVISION, set by ebb) and the VERSION it was
// configured with, so a traffic split can be watched from a shell.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func handler(revision, version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (%s)\n", revision, version)
	})
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(http.ListenAndServe(":"+port, handler(os.Getenv("K_REVISION"), os.Getenv("VERSION"))))
}
