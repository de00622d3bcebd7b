//go:build linux

package node_test

import (
	"net"
	"sync"

	"github.com/ebb-dev/ebb/internal/nodetest"
)

// gitSwitch is the listener of the git server the pods reach (on the
// node's address), which a test can take down and bring back on the same
// address: while down, nothing listens there (a connection is refused, as
// from a stopped server) and the connections it had accepted are closed.
// The test's own pushes go to the server's loopback address, which stays
// up.
type gitSwitch struct {
	n    *nodetest.Node
	addr net.Addr

	mu     sync.Mutex
	cur    net.Listener // nil while down
	wake   chan struct{}
	conns  map[net.Conn]struct{}
	closed bool
}

func newGitSwitch(n *nodetest.Node, l net.Listener) *gitSwitch {
	return &gitSwitch{n: n, addr: l.Addr(), cur: l, wake: make(chan struct{}), conns: map[net.Conn]struct{}{}}
}

// Accept waits for a connection while the switch is up; across a down and
// up it keeps waiting, so the server keeps serving.
func (s *gitSwitch) Accept() (net.Conn, error) {
	for {
		s.mu.Lock()
		l, wake, closed := s.cur, s.wake, s.closed
		s.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		if l == nil {
			<-wake
			continue
		}
		c, err := l.Accept()
		s.mu.Lock()
		switch {
		case err == nil && s.cur == l:
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			return &trackedConn{Conn: c, s: s}, nil
		case err == nil:
			c.Close() // taken down meanwhile
		case s.closed || s.cur == l:
			s.mu.Unlock()
			return nil, err
		}
		s.mu.Unlock()
	}
}

// down closes the listener and every connection it accepted.
func (s *gitSwitch) down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return
	}
	s.cur.Close()
	s.cur = nil
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

// up listens on the address again.
func (s *gitSwitch) up() error {
	l, err := s.n.Listen("tcp", s.addr.String())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = l
	close(s.wake)
	s.wake = make(chan struct{})
	return nil
}

func (s *gitSwitch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.wake)
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}

func (s *gitSwitch) Addr() net.Addr { return s.addr }

// trackedConn forgets itself in its switch when closed.
type trackedConn struct {
	net.Conn
	s *gitSwitch
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c.Conn)
	c.s.mu.Unlock()
	return c.Conn.Close()
}
