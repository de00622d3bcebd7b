package queue

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ebb-dev/ebb/proxy/internal/testenv"
)

// waitProbe waits, a bounded number of times, until the readiness probe
// answers want.
func (d *draining) waitProbe(t *testing.T, want int) {
	t.Helper()
	for n := 0; ; n++ {
		code, body := d.probe(t)
		if code == want {
			return
		}
		if n == 500 {
			t.Fatalf("probe: %d %q, want %d", code, body, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// /wait-for-drain with no SIGTERM following (the user container restarts
// after its liveness probe failed) drains for a second, then the drain is
// undone and the call answered, as in Knative; a caller that hangs up
// leaves no drain behind either.
func TestWaitForDrainWithoutShutdownIsUndone(t *testing.T) {
	d := serveDraining(t, Config{UserAddr: testenv.StartApp(t), DrainQuietPeriod: time.Hour})
	ctx, hangUp := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.admin+"/wait-for-drain", nil)
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		called <- err
	}()
	d.waitProbe(t, http.StatusServiceUnavailable)
	hangUp()
	<-called
	d.waitProbe(t, http.StatusOK)

	code, body := get(t, "http://"+d.admin+"/wait-for-drain", nil)
	if code != http.StatusOK || body != "drained\n" {
		t.Errorf("/wait-for-drain: %d %q, want 200 drained", code, body)
	}
	d.waitProbe(t, http.StatusOK)
	if d.returned() {
		t.Errorf("Serve returned %v", d.err)
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// On a fake clock: the drain lasts until no request has arrived for the
// quiet period; a call of /wait-for-drain is undone a second after it
// unless the drain before shutdown has begun, which nothing undoes.
func TestDrainerOnAFakeClock(t *testing.T) {
	const quiet = 30 * time.Second
	t.Run("a request extends the quiet period", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d := newDrainer(quiet)
			done := d.start()
			time.Sleep(quiet / 2)
			d.touch()
			time.Sleep(quiet - time.Nanosecond)
			synctest.Wait()
			if isClosed(done) {
				t.Fatal("the drain ended less than the quiet period after the last request")
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if !isClosed(done) || !d.draining.Load() {
				t.Errorf("quiet period over: done %v, draining %v; want true, true", isClosed(done), d.draining.Load())
			}
		})
	})
	// call calls /wait-for-drain; its answer arrives on the channel.
	call := func(s *Server) <-chan string {
		answer := make(chan string, 1)
		go func() {
			rec := httptest.NewRecorder()
			s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/wait-for-drain", nil))
			answer <- rec.Body.String()
		}()
		synctest.Wait()
		return answer
	}
	answered := func(answer <-chan string) bool {
		select {
		case a := <-answer:
			if a != "drained\n" {
				t.Errorf("/wait-for-drain answered %q, want drained", a)
			}
			return true
		default:
			return false
		}
	}
	t.Run("without shutdown the call is undone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &Server{drain: newDrainer(quiet)}
			answer := call(s)
			if !s.drain.draining.Load() {
				t.Fatal("not draining after /wait-for-drain")
			}
			time.Sleep(undoAfter)
			synctest.Wait()
			if s.drain.draining.Load() || !answered(answer) {
				t.Errorf("%s after the call: still draining or not answered", undoAfter)
			}
		})
	})
	t.Run("the drain before shutdown is not undone", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &Server{drain: newDrainer(quiet)}
			answer := call(s)
			shut := make(chan error, 1)
			go func() { shut <- s.drain.shutdown(context.Background()) }()
			time.Sleep(undoAfter)
			synctest.Wait()
			if !s.drain.draining.Load() || answered(answer) {
				t.Fatalf("%s after the call, shutting down: undone or answered, want draining", undoAfter)
			}
			time.Sleep(quiet - undoAfter)
			if err := <-shut; err != nil {
				t.Errorf("shutdown: %v", err)
			}
			synctest.Wait()
			if !answered(answer) {
				t.Error("/wait-for-drain not answered after the quiet period")
			}
		})
	})
}
