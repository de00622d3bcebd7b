// Command app is the canary example: it answers with the revision that
// served the request (K_REVISION, set by ebb) and its VERSION, and fails
// FAIL_PERCENT percent of its requests with a 500, so that a canary that
// fails its analysis can be watched.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

// handler fails failPercent of every hundred requests, spread evenly.
func handler(revision, version string, failPercent int64) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if failPercent > 0 && i*failPercent/100 != (i-1)*failPercent/100 {
			http.Error(w, revision+" failed on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s (%s)\n", revision, version)
	})
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fail, _ := strconv.ParseInt(os.Getenv("FAIL_PERCENT"), 10, 64)
	log.Fatal(http.ListenAndServe(":"+port, handler(os.Getenv("K_REVISION"), os.Getenv("VERSION"), fail)))
}
