package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"time"
)

// answer is one request of the load: when its answer came, its status
// (0 when the request failed) and body.
type answer struct {
	at   time.Time
	code int
	body string
}

// load sends rate requests a second to host through the gateway, open
// loop: a request is due every 1/rate whatever the answers, and workers
// goroutines send them. A due request that finds every worker busy is
// not sent and counted in missed. It stops when ctx ends or after limit.
type load struct {
	answers []answer
	missed  int
}

func runLoad(ctx context.Context, gateway, host string, rate, workers int, limit time.Duration) *load {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	due := make(chan struct{}, workers)
	got := make([][]answer, workers)
	var wg gosync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range due {
				got[i] = append(got[i], send(c, gateway, host))
			}
		})
	}
	l := &load{}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			select {
			case due <- struct{}{}:
			default:
				l.missed++
			}
		}
	}
	close(due)
	wg.Wait()
	for _, g := range got {
		l.answers = append(l.answers, g...)
	}
	slices.SortFunc(l.answers, func(a, b answer) int { return a.at.Compare(b.at) })
	return l
}

func send(c *http.Client, gateway, host string) answer {
	req, _ := http.NewRequest(http.MethodGet, "http://"+gateway+"/", nil)
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return answer{at: time.Now(), body: err.Error()}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return answer{at: time.Now(), body: err.Error()}
	}
	return answer{at: time.Now(), code: resp.StatusCode, body: strings.TrimSpace(string(b))}
}

// failed is an answer that is not a 200: a 5xx, or a request that got no
// answer.
func (a answer) failed() bool { return a.code != http.StatusOK }

// count is the answers in [from, to] and how many of them pass keep.
func count(as []answer, from, to time.Time, keep func(answer) bool) (n, all int) {
	for _, a := range as {
		if a.at.Before(from) || a.at.After(to) {
			continue
		}
		all++
		if keep(a) {
			n++
		}
	}
	return n, all
}
