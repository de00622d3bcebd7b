// Command app is the cold-start benchmark's user container: it answers
// every request with the time its main function began and the time it
// started listening (Unix nanoseconds, headers X-App-Start and
// X-App-Listen), so that the app's own start-up can be told apart from
// the platform's.
package main

import (
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	start := time.Now()
	l, err := net.Listen("tcp", ":"+os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	listen := time.Now()
	s, ls := strconv.FormatInt(start.UnixNano(), 10), strconv.FormatInt(listen.UnixNano(), 10)
	log.Fatal(http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Start", s)
		w.Header().Set("X-App-Listen", ls)
		w.Write([]byte("ok\n"))
	})))
}
