package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/metric"
)

func TestSampleSize(t *testing.T) {
	for n, want := range map[int]int{-1: 0, 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 10: 7, 100: 14, 1000: 16} {
		if got := SampleSize(n); got != want {
			t.Errorf("SampleSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// statServer is a queue-proxy stand-in on 127.0.0.1 answering with st, or
// with status when it is not 200.
type statServer struct {
	*httptest.Server
	hits atomic.Int32
}

func newStatServer(t testing.TB, st metric.Stat, status int) *statServer {
	t.Helper()
	s := &statServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.URL.Path != metric.StatPath || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if status != http.StatusOK {
			http.Error(w, "draining", status)
			return
		}
		w.Header().Set("Content-Type", metric.ContentType)
		_ = json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *statServer) addr() string { return strings.TrimPrefix(s.URL, "http://") }

func noShuffle(int, func(i, j int)) {}

func TestScrape(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	old, young := now.Add(-time.Hour), now.Add(-time.Second)
	stat := func(c float64) metric.Stat {
		return metric.Stat{AverageConcurrentRequests: c, AverageProxiedConcurrentRequests: c / 10, RequestCount: 2 * c, ProxiedRequestCount: c / 5}
	}
	tests := []struct {
		name string
		pods []struct {
			conc   float64
			status int
			start  time.Time
		}
		want   metric.Stat
		ok     bool
		err    error
		unused []int // pods that must not be scraped
	}{{
		name: "no pods",
	}, {
		name: "all of three",
		pods: []struct {
			conc   float64
			status int
			start  time.Time
		}{{1, 200, old}, {2, 200, old}, {3, 200, young}},
		want: metric.Stat{PodName: "autoscaler", AverageConcurrentRequests: 6, AverageProxiedConcurrentRequests: 0.6, RequestCount: 12, ProxiedRequestCount: 1.2},
		ok:   true,
	}, {
		name: "old pods preferred, scaled by N/n",
		// 5 pods: sample 4, all old; the young one's 1000 is left out.
		pods: []struct {
			conc   float64
			status int
			start  time.Time
		}{{1000, 200, young}, {10, 200, old}, {10, 200, old}, {10, 200, old}, {10, 200, old}},
		want:   metric.Stat{PodName: "autoscaler", AverageConcurrentRequests: 50, AverageProxiedConcurrentRequests: 5, RequestCount: 100, ProxiedRequestCount: 10},
		ok:     true,
		unused: []int{0},
	}, {
		name: "failed pod replaced by the next",
		pods: []struct {
			conc   float64
			status int
			start  time.Time
		}{{10, 503, old}, {10, 200, old}, {10, 200, old}, {10, 200, old}, {10, 200, young}},
		want: metric.Stat{PodName: "autoscaler", AverageConcurrentRequests: 50, AverageProxiedConcurrentRequests: 5, RequestCount: 100, ProxiedRequestCount: 10},
		ok:   true,
	}, {
		name: "too many failures",
		pods: []struct {
			conc   float64
			status int
			start  time.Time
		}{{10, 503, old}, {10, 500, old}, {10, 200, old}, {10, 200, old}, {10, 200, old}},
		err: ErrPodsExhausted,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []Pod
			var servers []*statServer
			for i, p := range tt.pods {
				s := newStatServer(t, stat(p.conc), p.status)
				servers = append(servers, s)
				pods = append(pods, Pod{Name: "pod-" + string(rune('a'+i)), Address: s.addr(), StartTime: p.start})
			}
			sc := &Scraper{Shuffle: noShuffle}
			got, ok, err := sc.Scrape(context.Background(), pods, time.Minute, now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			// Stats are summed in arrival order: compare approximately.
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("stat (-want +got):\n%s", diff)
			}
			for _, i := range tt.unused {
				if n := servers[i].hits.Load(); n != 0 {
					t.Errorf("pod %d scraped %d times", i, n)
				}
			}
		})
	}
}

func TestScrapeUnreachablePod(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	_, ok, err := (&Scraper{}).Scrape(context.Background(), []Pod{{Name: "gone", Address: addr}}, time.Minute, time.Now())
	if ok || !errors.Is(err, ErrPodsExhausted) {
		t.Errorf("ok %v err %v, want ErrPodsExhausted", ok, err)
	}
}

type staticPods []Pod

func (p staticPods) Pods(context.Context, RevisionKey) ([]Pod, error) { return p, nil }

// TestLoopScrapesPods runs the loop against three queue-proxy stand-ins
// over real HTTP: 3 × 70 concurrent requests want 3 pods.
func TestLoopScrapesPods(t *testing.T) {
	var pods staticPods
	for i := range 3 {
		s := newStatServer(t, metric.Stat{AverageConcurrentRequests: 70, RequestCount: 7}, http.StatusOK)
		pods = append(pods, Pod{Name: string(rune('a' + i)), Address: s.addr()})
	}
	synctest.Test(t, func(t *testing.T) {
		rt := newFakeRuntime()
		rt.replicas[hello] = 1
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		a, stop := startAutoscaler(t, Options{Scaler: rt, Modes: rt, Pods: pods, Scraper: &Scraper{Client: client}})
		defer stop()
		a.Upsert(Revision{Key: hello, Reachable: true})
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		st, _ := a.Status(hello)
		if st.Stable != 210 || st.DesiredScale != 3 {
			t.Errorf("status %+v, want stable 210 and 3 pods", st)
		}
		// With target-burst-capacity -1 nothing is scraped.
		a.Upsert(Revision{Key: hello, Reachable: true, Annotations: map[string]string{"autoscaling.knative.dev/target-burst-capacity": "-1"}})
		time.Sleep(61 * time.Second)
		synctest.Wait()
		st, _ = a.Status(hello)
		if st.Stable != 0 || st.State.Mode != route.Proxy {
			t.Errorf("TBC -1: status %+v, want no load and proxy mode", st)
		}
	})
}
