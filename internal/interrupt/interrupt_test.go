package interrupt

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// within waits, boundedly, for ch to close.
func within(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestFirstSignalIsGracefulSecondIsNow(t *testing.T) {
	graceful, now, stop := Notify(context.Background(), syscall.SIGUSR1)
	defer stop()
	if closed(graceful.Done()) || closed(now) {
		t.Fatal("stopping before any signal")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !within(graceful.Done()) {
		t.Fatal("the first signal did not end graceful")
	}
	if closed(now) {
		t.Fatal("the first signal closed now")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !within(now) {
		t.Fatal("the second signal did not close now")
	}
}

func TestStopReleases(t *testing.T) {
	graceful, now, stop := Notify(context.Background(), syscall.SIGUSR2)
	stop()
	stop()
	if !closed(graceful.Done()) {
		t.Error("graceful still open after stop")
	}
	if closed(now) {
		t.Error("now closed by stop")
	}
}
