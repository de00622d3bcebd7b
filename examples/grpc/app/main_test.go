package main

import (
	"context"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/ebb-dev/ebb/examples/grpc/greeter"
)

func TestGreeter(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server()
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := greeter.NewClient(conn)
	got, err := c.CallAll(context.Background(), "gRPC")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Hello gRPC!", "Count: 1 2 3", "Echo: one two three"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CallAll (-want +got):\n%s", d)
	}

	stream, err := c.Count(context.Background(), greeter.MaxCount+1)
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Count(%d): %v, want InvalidArgument", greeter.MaxCount+1, err)
	}
}
