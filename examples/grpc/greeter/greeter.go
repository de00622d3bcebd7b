// Package greeter is the gRPC service of the grpc example,
// ebb.examples.v1.Greeter: a unary, a server-streaming and a bidirectional
// method. Its messages are protobuf's well-known wrappers, so the service
// is written here the way protoc-gen-go-grpc would generate it, without
// a .proto file to compile. In proto terms:
//
//	service Greeter {
//	  rpc Hello(google.protobuf.StringValue) returns (google.protobuf.StringValue);
//	  rpc Count(google.protobuf.UInt32Value) returns (stream google.protobuf.StringValue);
//	  rpc Echo(stream google.protobuf.StringValue) returns (stream google.protobuf.StringValue);
//	}
package greeter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ServiceName is the gRPC service's full name.
const ServiceName = "ebb.examples.v1.Greeter"

// MaxCount bounds how many messages one Count streams.
const MaxCount = 1000

const (
	helloMethod = "/" + ServiceName + "/Hello"
	countMethod = "/" + ServiceName + "/Count"
	echoMethod  = "/" + ServiceName + "/Echo"
)

var desc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Hello", Handler: helloHandler}},
	Streams: []grpc.StreamDesc{
		{StreamName: "Count", Handler: countHandler, ServerStreams: true},
		{StreamName: "Echo", Handler: echoHandler, ServerStreams: true, ClientStreams: true},
	},
	Metadata: "ebb/examples/grpc/greeter",
}

// Register adds the Greeter service to s.
func Register(s grpc.ServiceRegistrar) {
	s.RegisterService(&desc, struct{}{})
}

// Hello answers "Hello <name>!".
func Hello(name string) string { return "Hello " + name + "!" }

func helloHandler(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	handle := func(_ context.Context, req any) (any, error) {
		return wrapperspb.String(Hello(req.(*wrapperspb.StringValue).GetValue())), nil
	}
	if interceptor == nil {
		return handle(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{FullMethod: helloMethod}, handle)
}

// countHandler streams "1", "2", … up to the number asked for.
func countHandler(_ any, stream grpc.ServerStream) error {
	s := &grpc.GenericServerStream[wrapperspb.UInt32Value, wrapperspb.StringValue]{ServerStream: stream}
	in, err := s.Recv()
	if err != nil {
		return err
	}
	if in.GetValue() > MaxCount {
		return status.Errorf(codes.InvalidArgument, "count %d: at most %d", in.GetValue(), MaxCount)
	}
	for i := range in.GetValue() {
		if err := s.Send(wrapperspb.String(strconv.Itoa(int(i) + 1))); err != nil {
			return err
		}
	}
	return nil
}

// echoHandler sends every message back as it arrives, until the client
// closes its side.
func echoHandler(_ any, stream grpc.ServerStream) error {
	s := &grpc.GenericServerStream[wrapperspb.StringValue, wrapperspb.StringValue]{ServerStream: stream}
	for {
		in, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(in); err != nil {
			return err
		}
	}
}

// Client calls a Greeter.
type Client struct{ cc grpc.ClientConnInterface }

// NewClient returns a client of the Greeter served on cc.
func NewClient(cc grpc.ClientConnInterface) *Client { return &Client{cc} }

// Hello calls Hello.
func (c *Client) Hello(ctx context.Context, name string, opts ...grpc.CallOption) (string, error) {
	out := new(wrapperspb.StringValue)
	if err := c.cc.Invoke(ctx, helloMethod, wrapperspb.String(name), out, opts...); err != nil {
		return "", err
	}
	return out.GetValue(), nil
}

// Count calls Count: the stream answers n messages, then io.EOF.
func (c *Client) Count(ctx context.Context, n uint32, opts ...grpc.CallOption) (grpc.ServerStreamingClient[wrapperspb.StringValue], error) {
	stream, err := c.cc.NewStream(ctx, &desc.Streams[0], countMethod, opts...)
	if err != nil {
		return nil, err
	}
	s := &grpc.GenericClientStream[wrapperspb.UInt32Value, wrapperspb.StringValue]{ClientStream: stream}
	if err := s.Send(wrapperspb.UInt32(n)); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	return s, nil
}

// Echo opens an Echo stream: each message sent comes back.
func (c *Client) Echo(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[wrapperspb.StringValue, wrapperspb.StringValue], error) {
	stream, err := c.cc.NewStream(ctx, &desc.Streams[1], echoMethod, opts...)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[wrapperspb.StringValue, wrapperspb.StringValue]{ClientStream: stream}, nil
}

// CallAll calls each method once, Hello(name), Count(3) and an Echo of
// three messages each awaited before the next is sent, and returns one
// line per call: what a Greeter answers is
//
//	Hello <name>!
//	Count: 1 2 3
//	Echo: one two three
func (c *Client) CallAll(ctx context.Context, name string, opts ...grpc.CallOption) ([]string, error) {
	hello, err := c.Hello(ctx, name, opts...)
	if err != nil {
		return nil, fmt.Errorf("Hello: %w", err)
	}
	count, err := c.Count(ctx, 3, opts...)
	if err != nil {
		return nil, fmt.Errorf("Count: %w", err)
	}
	var counted []string
	for {
		m, err := count.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("Count: %w", err)
		}
		counted = append(counted, m.GetValue())
	}
	echo, err := c.Echo(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("Echo: %w", err)
	}
	var echoed []string
	for _, word := range []string{"one", "two", "three"} {
		if err := echo.Send(wrapperspb.String(word)); err != nil {
			return nil, fmt.Errorf("Echo: send %q: %w", word, err)
		}
		m, err := echo.Recv()
		if err != nil {
			return nil, fmt.Errorf("Echo: receive %q: %w", word, err)
		}
		echoed = append(echoed, m.GetValue())
	}
	if err := echo.CloseSend(); err != nil {
		return nil, fmt.Errorf("Echo: %w", err)
	}
	if _, err := echo.Recv(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("Echo: after the last message: %v, want the end of the stream", err)
	}
	return []string{hello, "Count: " + strings.Join(counted, " "), "Echo: " + strings.Join(echoed, " ")}, nil
}
