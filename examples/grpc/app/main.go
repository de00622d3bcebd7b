// Command app is the gRPC example: a grpc-go server of the Greeter
// service (examples/grpc/greeter) on $PORT. gRPC is HTTP/2, here without
// TLS (h2c); its Service names the container port "h2c", so ebb's
// gateway, activator and queue-proxy speak HTTP/2 to it end to end, as
// Knative's do.
package main

import (
	"log"
	"net"
	"os"

	"google.golang.org/grpc"

	"github.com/ebb-dev/ebb/examples/grpc/greeter"
)

func server() *grpc.Server {
	s := grpc.NewServer()
	greeter.Register(s)
	return s
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	lis, err := net.Listen("tcp", ":"+port)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("grpc: serving %s on :%s", greeter.ServiceName, port)
	log.Fatal(server().Serve(lis))
}
