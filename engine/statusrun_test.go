package engine

import (
	"context"
	"net/http"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ebb-dev/ebb/engine/forge"
)

// memForge is a forge in memory: synctest's clock does not cover network
// I/O, so TestStatusPosterRun cannot use forgetest's server on loopback
// (TestStatusPoster does). The first SetStatus answers a rate limit.
type memForge struct {
	mu      gosync.Mutex
	reset   time.Time
	held    map[string]forge.Status
	gets    int
	sets    int
	limited bool
}

func (m *memForge) Statuses(ctx context.Context, sha string) ([]forge.Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	var out []forge.Status
	for _, s := range m.held {
		out = append(out, s)
	}
	return out, nil
}

func (m *memForge) SetStatus(ctx context.Context, sha string, s forge.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets++
	if !m.limited {
		m.limited = true
		return &forge.APIError{Code: http.StatusForbidden, Status: "403 Forbidden", Message: "API rate limit exceeded", RateLimited: true, Reset: m.reset}
	}
	m.held[s.Context] = s
	return nil
}

func (m *memForge) counts() (int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets, m.sets
}

// TestStatusPosterRun: Run posts at once, waits out a rate limit (a kick
// does not cut it short), then posts, and afterwards calls the forge no
// more for the same state, kicked or not.
func TestStatusPosterRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := &memForge{reset: start.Add(10 * time.Minute), held: map[string]forge.Status{}}
		want := []CommitStatus{{Commit: "abc", Status: forge.Status{Context: "ebb/apply", State: forge.Success, Description: "applied"}}}
		p := &StatusPoster{Forge: "github", Client: m, Want: func() []CommitStatus { return want }}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		synctest.Wait()
		if gets, sets := m.counts(); gets != 1 || sets != 1 {
			t.Fatalf("first round: %d reads, %d posts; want 1, 1", gets, sets)
		}
		if st := p.Status(); !st.RateLimitedUntil.Equal(m.reset) || !st.NextTry.Equal(m.reset) || st.Waiting != 1 {
			t.Errorf("after the rate limit: %+v", st)
		}
		p.Kick()
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if _, sets := m.counts(); sets != 1 {
			t.Errorf("posted %d times within the rate limit, want 1", sets)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, sets := m.counts(); sets != 2 {
			t.Errorf("posted %d times after the reset, want 2", sets)
		}
		for range 3 {
			p.Kick()
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		if gets, sets := m.counts(); gets != 1 || sets != 2 {
			t.Errorf("then %d reads and %d posts, want 1 and 2", gets, sets)
		}
		if st := p.Status(); st.LastError != "" || st.Posted != 1 || st.Waiting != 0 {
			t.Errorf("at the end: %+v", st)
		}
		cancel()
		<-done
	})
}
