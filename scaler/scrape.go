package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// Pod is one ready pod of a revision, as the scraper sees it.
type Pod struct {
	Name string
	// Address is the host:port of the pod's stats endpoint (podIP:9090 in
	// a cluster; a loopback port for the local runtime).
	Address string
	// StartTime is when the pod started.
	StartTime time.Time
}

// PodLister lists a revision's ready pods.
type PodLister interface {
	Pods(ctx context.Context, rev RevisionKey) ([]Pod, error)
}

// ErrPodsExhausted says too many pods failed to answer for the sample to
// mean anything; nothing is recorded for that second.
var ErrPodsExhausted = errors.New("too many pods failed scraping")

// sampleConfidence is X = z²·σ²/e² for a 95 % confidence (z = 1.96), a
// variance of 100 and a 5 % margin of error.
const sampleConfidence = 1.96 * 1.96 * 100 / (5 * 5)

// SampleSize is how many of n ready pods are scraped: all of them up to 3,
// else ceil(n·X / (n + X − 1)) with X = 1.96²·100/5² ≈ 15.37 (e.g. 5 → 4,
// 10 → 7, 100 → 14, 1000 → 16).
func SampleSize(n int) int {
	if n <= 3 {
		return max(n, 0)
	}
	f := float64(n)
	return int(math.Ceil(f * sampleConfidence / (f + sampleConfidence - 1)))
}

// Scraper estimates a revision's load from a sample of its pods' stats.
type Scraper struct {
	// Client does the requests; nil uses one with autoscaling.ScrapeTimeout.
	Client *http.Client
	// Shuffle orders candidate pods; nil uses math/rand/v2.
	Shuffle func(n int, swap func(i, j int))
}

var defaultScrapeClient = &http.Client{Timeout: autoscaling.ScrapeTimeout}

// Scrape samples pods and returns the sum of the sampled stats scaled by
// N/n to the whole revision. Pods older than the stable window are
// preferred; younger ones only fill up the sample. ok is false when there
// are no pods (nothing to record).
func (s *Scraper) Scrape(ctx context.Context, pods []Pod, stableWindow time.Duration, now time.Time) (st metric.Stat, ok bool, err error) {
	sample, scale, err := s.Sample(ctx, pods, stableWindow, now)
	if err != nil || len(sample) == 0 {
		return metric.Stat{}, false, err
	}
	return sum(sample, scale), true, nil
}

// Sample scrapes n = SampleSize(N) of the N pods, as Scrape does, and
// returns their stats, each named after its pod (Pod.Name), and the
// scale N/n that brings the sample to the whole revision.
func (s *Scraper) Sample(ctx context.Context, pods []Pod, stableWindow time.Duration, now time.Time) (sample []metric.Stat, scale float64, err error) {
	if len(pods) == 0 {
		return nil, 0, nil
	}
	var older, younger []Pod
	for _, p := range pods {
		if now.Sub(p.StartTime) >= stableWindow {
			older = append(older, p)
		} else {
			younger = append(younger, p)
		}
	}
	n := SampleSize(len(pods))
	shuffle := s.Shuffle
	if shuffle == nil {
		shuffle = rand.Shuffle
	}
	if len(older) < n {
		shuffle(len(younger), func(i, j int) { younger[i], younger[j] = younger[j], younger[i] })
	} else {
		shuffle(len(older), func(i, j int) { older[i], older[j] = older[j], older[i] })
	}
	candidates := append(older, younger...)

	client := s.Client
	if client == nil {
		client = defaultScrapeClient
	}
	ctx, cancel := context.WithTimeout(ctx, autoscaling.ScrapeTimeout)
	defer cancel()

	var (
		next      atomic.Int64
		wg        sync.WaitGroup
		mu        sync.Mutex
		exhausted atomic.Bool
	)
	next.Store(-1)
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i >= len(candidates) {
					exhausted.Store(true)
					return
				}
				stat, err := fetchStat(ctx, client, candidates[i].Address)
				if err == nil {
					stat.PodName = candidates[i].Name
					mu.Lock()
					sample = append(sample, stat)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if exhausted.Load() {
		return nil, 0, fmt.Errorf("scrape %d of %d pods: %w", n, len(pods), ErrPodsExhausted)
	}
	return sample, float64(len(pods)) / float64(n), nil
}

// sum adds up a sample's load, scaled to the whole revision.
func sum(sample []metric.Stat, scale float64) metric.Stat {
	st := metric.Stat{PodName: "autoscaler"}
	for _, r := range sample {
		st.AverageConcurrentRequests += r.AverageConcurrentRequests
		st.AverageProxiedConcurrentRequests += r.AverageProxiedConcurrentRequests
		st.RequestCount += r.RequestCount
		st.ProxiedRequestCount += r.ProxiedRequestCount
	}
	st.AverageConcurrentRequests *= scale
	st.AverageProxiedConcurrentRequests *= scale
	st.RequestCount *= scale
	st.ProxiedRequestCount *= scale
	return st
}

// fetchStat GETs one pod's stat.
func fetchStat(ctx context.Context, client *http.Client, addr string) (metric.Stat, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+metric.StatPath, nil)
	if err != nil {
		return metric.Stat{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	req.Header.Set("Accept", metric.ContentType)
	resp, err := client.Do(req)
	if err != nil {
		return metric.Stat{}, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return metric.Stat{}, fmt.Errorf("scrape %s: status %d", addr, resp.StatusCode)
	}
	var st metric.Stat
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return metric.Stat{}, fmt.Errorf("scrape %s: decode stat: %w", addr, err)
	}
	return st, nil
}
