// Command client calls every method of the grpc example's Greeter once,
// through an ebb gateway, and prints the answers:
//
//	go run ./examples/grpc/client -addr 127.0.0.1:8080 -host grpc.default.svc.cluster.local
//
// The gateway chooses the Service by the request's host, which gRPC sends
// as :authority.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ebb-dev/ebb/examples/grpc/greeter"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the gateway: ebb up's --addr, or ebb gateway's --listen")
	host := flag.String("host", "grpc.default.svc.cluster.local", "the Service's host, sent as :authority")
	name := flag.String("name", "World", "who Hello greets")
	timeout := flag.Duration("timeout", 2*time.Minute, "how long the calls may take, a scale from zero included")
	flag.Parse()
	if err := call(*addr, *host, *name, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func call(addr, host, name string, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority(host))
	if err != nil {
		return err
	}
	defer conn.Close()
	lines, err := greeter.NewClient(conn).CallAll(ctx, name)
	for _, l := range lines {
		fmt.Println(l)
	}
	return err
}
