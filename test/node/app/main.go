// Command app is test/node's app: like the traffic example it answers
// "<K_REVISION> (<VERSION>)", and it misbehaves as its environment asks,
// for the tests of a failing canary and a crash-looping revision:
// FAIL=1 answers every request 500; CRASH=N writes a line and exits with
// status N at start.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
)

func handler(revision, version string, fail bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, revision+" ("+version+") fails as asked", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s (%s)\n", revision, version)
	})
}

func main() {
	if code, err := strconv.Atoi(os.Getenv("CRASH")); err == nil {
		fmt.Fprintf(os.Stderr, "crashing with status %d as asked\n", code)
		os.Exit(code)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(http.ListenAndServe(":"+port, handler(os.Getenv("K_REVISION"), os.Getenv("VERSION"), os.Getenv("FAIL") == "1")))
}
