//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-dev/ebb/cmd/ebb/internal/gatewaycmd"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler/metric"
)

// webSplit is how web's applied route table splits its first path, as
// "web-00001 80, web-00002 20".
func webSplit(ctx context.Context, cs kubernetes.Interface) (string, error) {
	cm, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "web-routes", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	var tab route.Table
	if err := json.Unmarshal([]byte(cm.Data[route.DataKey]), &tab); err != nil {
		return "", fmt.Errorf("web-routes: %w", err)
	}
	if len(tab.Routes) == 0 || len(tab.Routes[0].Rules) == 0 || len(tab.Routes[0].Rules[0].Paths) == 0 {
		return "", fmt.Errorf("web-routes: no path in %s", cm.Data[route.DataKey])
	}
	var parts []string
	for _, s := range tab.Routes[0].Rules[0].Paths[0].Splits {
		parts = append(parts, fmt.Sprintf("%s %d", s.Revision, s.Percent))
	}
	return strings.Join(parts, ", "), nil
}

// canaryActivator plays the gateway's activator for web (see
// TestControllerCanary), remembering every split web's route table had.
type canaryActivator struct {
	mu       gosync.Mutex
	failEach map[string]int64 // revision → every n-th request fails
	splits   []string
	pause    string
	paused   chan struct{}
	resumed  chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	watched  chan struct{}
}

// playActivator starts a canaryActivator, stopped when the test ends:
// half-way through every wall-clock second it reads web's route table
// and reports the second that ended to the leader (the controller whose
// pod IP the leader Service's EndpointSlice holds), with the gateway's
// token as the gateway sends it: 100 requests split by the percents,
// answered in 10 ms, the failing share of each revision with a 5xx.
func playActivator(t *testing.T, cs kubernetes.Interface, ctls map[string]*canaryController, tokenFile string) *canaryActivator {
	ctx, cancel := context.WithCancel(t.Context())
	a := &canaryActivator{failEach: map[string]int64{}, paused: make(chan struct{}), resumed: make(chan struct{}), ctx: ctx, cancel: cancel,
		done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			// Half-way through the next wall-clock second, as the
			// activator reports the one that ended.
			now := time.Now()
			next := now.Truncate(time.Second).Add(1500 * time.Millisecond)
			if next.Sub(now) > time.Second {
				next = next.Add(-time.Second)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(next.Sub(now)):
			}
			if msgs := a.second(cs, next.Truncate(time.Second).Unix()); len(msgs) > 0 {
				for _, p := range ctls {
					if p.podIP == leaderIP(t, cs) {
						// A failed push is lost, as the activator's are.
						_ = gatewaycmd.StatsSink("http://"+p.addr(), tokenFile).Send(ctx, msgs)
					}
				}
			}
		}
	}()
	// Every route table web had, each read within 100 ms, however short
	// it lived.
	a.watched = make(chan struct{})
	go func() {
		defer close(a.watched)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if got, err := webSplit(ctx, cs); err == nil {
				a.saw(got)
			}
		}
	}()
	t.Cleanup(func() { a.stop() })
	return a
}

// saw records split as the table web has now.
func (a *canaryActivator) saw(split string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sawLocked(split)
}

func (a *canaryActivator) sawLocked(split string) {
	if n := len(a.splits); n == 0 || a.splits[n-1] != split {
		a.splits = append(a.splits, split)
	}
}

// second is the stats of the second ending at the Unix time at, from
// web's route table now: none while paused.
func (a *canaryActivator) second(cs kubernetes.Interface, at int64) []metric.Message {
	got, err := webSplit(a.ctx, cs)
	if err != nil {
		return nil // nothing routed yet
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sawLocked(got)
	if a.pause != "" && got == a.pause {
		a.pause = ""
		close(a.paused)
		a.mu.Unlock()
		select {
		case <-a.resumed:
		case <-a.ctx.Done():
		}
		a.mu.Lock()
		return nil
	}
	var msgs []metric.Message
	for _, part := range strings.Split(got, ", ") {
		rev, percent, ok := strings.Cut(part, " ")
		n, err := strconv.ParseInt(percent, 10, 64)
		if !ok || err != nil || n == 0 {
			continue
		}
		st := metric.Stat{PodName: "activator-1", AverageConcurrentRequests: 1, RequestCount: float64(n), Timestamp: at, Responses: n}
		if every := a.failEach[rev]; every > 0 {
			st.Failures = n / every
		}
		st.Latency = make([]uint32, metric.Bucket(10*time.Millisecond)+1)
		st.Latency[len(st.Latency)-1] = uint32(n)
		msgs = append(msgs, metric.Message{Namespace: "default", Revision: rev, Stat: st})
	}
	return msgs
}

// last is the split the activator last routed by.
func (a *canaryActivator) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.splits) == 0 {
		return ""
	}
	return a.splits[len(a.splits)-1]
}

// pauseAt makes the activator stop answering once web is routed as
// split, until resume.
func (a *canaryActivator) pauseAt(split string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pause = split
}

func (a *canaryActivator) resume() { close(a.resumed) }

// fail makes every every-th request to revision fail.
func (a *canaryActivator) fail(revision string, every int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failEach[revision] = every
}

// stop ends the activator and returns the splits it saw, in order,
// separated by " | ".
func (a *canaryActivator) stop() string {
	a.cancel()
	<-a.done
	<-a.watched
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.splits, " | ")
}
