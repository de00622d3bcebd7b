package git

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/gittest"
)

// TestFetchTimeout: a server that accepts connections and never answers
// costs Config.Timeout, not forever.
func TestFetchTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		conns.Wait()
		for _, c := range open {
			c.Close()
		}
	}()
	key, _ := gittest.NewKey(t)
	for _, url := range []string{"http://" + l.Addr().String() + "/repo.git", "ssh://git@" + l.Addr().String() + "/repo.git"} {
		s, err := New(Config{URL: url, Ref: Ref{Branch: "main"}, Timeout: 300 * time.Millisecond,
			Auth: Auth{SSHKey: key, KnownHosts: []byte("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := s.Fetch(context.Background())
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("%s: Fetch from a silent server succeeded", url)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "i/o timeout") {
				t.Errorf("%s: error %v, want a timeout", url, err)
			}
		case <-time.After(20 * time.Second): // a bound for a hung test, not a timing assertion
			t.Fatalf("%s: Fetch did not give up", url)
		}
	}
}
