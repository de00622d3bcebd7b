// Command app is the canary of benchmark B11: it answers "$TARGET\n",
// and with FAIL_EVERY=n every n-th request a 500 instead. canarybench
// copies this file into the serving repository it writes.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	every, _ := strconv.ParseInt(os.Getenv("FAIL_EVERY"), 10, 64)
	target := os.Getenv("TARGET") + "\n"
	var served atomic.Int64
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		if n := served.Add(1); every > 0 && n%every == 0 {
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, target)
	})
	fmt.Fprintln(os.Stderr, http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
