// Command app is the autoscale example: each request sleeps for ?sleep=
// milliseconds (default 100, at most 10000) so concurrent load builds up
// and the autoscaler adds replicas.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const maxSleep = 10 * time.Second

func handler(sleep func(time.Duration)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := 100 * time.Millisecond
		if s := r.URL.Query().Get("sleep"); s != "" {
			ms, err := strconv.Atoi(s)
			if err != nil || ms < 0 {
				http.Error(w, "sleep: want milliseconds", http.StatusBadRequest)
				return
			}
			d = min(time.Duration(ms)*time.Millisecond, maxSleep)
		}
		sleep(d)
		fmt.Fprintf(w, "slept %v\n", d)
	})
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(http.ListenAndServe(":"+port, handler(time.Sleep)))
}
