package recent

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCache(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		put  string // key to put at second at, expiring ttl seconds later
		ttl  int
		at   int
		want map[string]bool // keys looked up after the step: held or not
	}
	for _, tc := range []struct {
		name  string
		size  int
		steps []step
	}{
		{"expiry", 3, []step{
			{put: "a", ttl: 10, at: 0, want: map[string]bool{"a": true}},
			{put: "b", ttl: 10, at: 5, want: map[string]bool{"a": true, "b": true}},
			{at: 10, want: map[string]bool{"a": false, "b": true}},
			{at: 15, want: map[string]bool{"a": false, "b": false}},
		}},
		{"full drops the oldest", 2, []step{
			{put: "a", ttl: 60, at: 0},
			{put: "b", ttl: 60, at: 1},
			{put: "c", ttl: 60, at: 2, want: map[string]bool{"a": false, "b": true, "c": true}},
		}},
		{"a put again is the newest", 2, []step{
			{put: "a", ttl: 60, at: 0},
			{put: "b", ttl: 60, at: 1},
			{put: "a", ttl: 60, at: 2},
			{put: "c", ttl: 60, at: 3, want: map[string]bool{"a": true, "b": false, "c": true}},
		}},
		{"expired entries leave before full drops a live one", 2, []step{
			{put: "a", ttl: 1, at: 0},
			{put: "b", ttl: 60, at: 0},
			{put: "c", ttl: 60, at: 5, want: map[string]bool{"a": false, "b": true, "c": true}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New[int](tc.size)
			for i, s := range tc.steps {
				if s.put != "" {
					c.Put(s.put, i, at(s.at+s.ttl), at(s.at))
				}
				if c.Len() > tc.size {
					t.Fatalf("step %d: %d entries, want at most %d", i, c.Len(), tc.size)
				}
				got := map[string]bool{}
				for k := range s.want {
					_, got[k] = c.Get(k, at(s.at))
				}
				if len(s.want) == 0 {
					continue
				}
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("step %d: held (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestCacheValue(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := New[string](4)
	c.Put("k", "v1", now.Add(time.Minute), now)
	c.Put("k", "v2", now.Add(time.Minute), now)
	if v, ok := c.Get("k", now); !ok || v != "v2" {
		t.Errorf("Get = %q, %v; want v2, true", v, ok)
	}
	if c.Len() != 1 {
		t.Errorf("Len = %d after putting one key twice, want 1", c.Len())
	}
}
