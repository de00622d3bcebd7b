// Package servetest holds what tests of servers run through
// internal/serve share: waiting for a server to stop accepting.
package servetest

import (
	"net"
	"testing"
	"time"
)

// WaitRefused waits until addr refuses connections (its server has
// stopped accepting), trying at most a thousand times, a millisecond
// apart; it fails the test if addr still accepts then.
func WaitRefused(t testing.TB, addr string) {
	t.Helper()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		if i == 1000 {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(time.Millisecond)
	}
}
