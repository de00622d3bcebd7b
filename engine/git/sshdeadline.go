package git

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// go-git's SSH transport ignores the context until the SSH handshake is
// over, so a server that accepts the connection and never speaks would
// hold a fetch forever. Its only seam for the connection is the proxy
// dialer: ebb registers a dialer type of its own (once, under a name no
// one else uses) that dials directly and puts the operation's deadline
// on the connection.
const deadlineScheme = "ebb-deadline"

var registerDeadline sync.Once

// deadlineProxy returns the proxy options that bound an SSH operation by
// ctx's deadline; without a deadline, none.
func deadlineProxy(ctx context.Context) transport.ProxyOptions {
	at, ok := ctx.Deadline()
	if !ok {
		return transport.ProxyOptions{}
	}
	registerDeadline.Do(func() { proxy.RegisterDialerType(deadlineScheme, newDeadlineDialer) })
	return transport.ProxyOptions{URL: deadlineScheme + "://deadline/?at=" + strconv.FormatInt(at.UnixNano(), 10)}
}

type deadlineDialer struct{ at time.Time }

func newDeadlineDialer(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
	ns, err := strconv.ParseInt(u.Query().Get("at"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("deadline dialer: %w", err)
	}
	return deadlineDialer{at: time.Unix(0, ns)}, nil
}

func (d deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(ctx, d.at)
	defer cancel()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(d.at); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
