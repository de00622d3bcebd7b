// Command app is the hello example: it answers every request with
// "Hello <TARGET>!", TARGET read from the environment (default "World").
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func handler(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello %s!\n", target)
	})
}

func main() {
	target := os.Getenv("TARGET")
	if target == "" {
		target = "World"
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Printf("hello: listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, handler(target)))
}
