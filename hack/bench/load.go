package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

var (
	reRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reP50  = regexp.MustCompile(`\s50%\s+([\d.]+)(us|ms|s)`)
	reP99  = regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`)
	reErrs = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func parseDur(m []string) time.Duration {
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
	return time.Duration(v * float64(unit))
}

// parseWrk reads wrk's --latency output.
func parseWrk(s string) (wrkResult, error) {
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return wrkResult{}, fmt.Errorf("wrk output without Requests/sec:\n%s", s)
	}
	r := wrkResult{p50: parseDur(reP50.FindStringSubmatch(s)), p99: parseDur(reP99.FindStringSubmatch(s))}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reErrs.FindStringSubmatch(s); m != nil {
		r.errors, _ = strconv.Atoi(m[1])
	}
	return r, nil
}

// runWrk runs wrk against url with conns connections for d, with an
// optional Host header.
func (e *env) runWrk(url string, conns int, host string) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(min(conns, 2)), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(e.d.Seconds())), "--latency"}
	if host != "" {
		args = append(args, "-H", "Host: "+host)
	}
	out, err := exec.Command(e.wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return parseWrk(string(out))
}

// closedResult counts responses of a closed-loop run.
type closedResult struct {
	ok, rejected, other int
	elapsed             time.Duration
	bodies              map[string]int
}

// closedLoop runs clients goroutines, each sending requests back to back,
// for d or until total requests were sent (when total > 0).
func closedLoop(url, host string, clients int, d time.Duration, total int) closedResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	res := closedResult{bodies: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var sent sync.Mutex
	n := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if total > 0 {
					sent.Lock()
					if n >= total {
						sent.Unlock()
						return
					}
					n++
					sent.Unlock()
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if host != "" {
					req.Host = host
				}
				resp, err := c.Do(req)
				var body string
				code := 0
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body, code = strings.TrimSpace(string(b)), resp.StatusCode
				}
				mu.Lock()
				switch {
				case code == 200:
					res.ok++
					res.bodies[body]++
				case code == 503 && body == "pending request queue full":
					res.rejected++
				default:
					res.other++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// openLoop sends rate requests per second for d regardless of answers and
// returns the latencies of the successful ones and the error count.
func openLoop(url string, rate int, d time.Duration) (lat []time.Duration, errs int) {
	tr := &http.Transport{MaxIdleConnsPerHost: 2000}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := c.Get(url)
			ok := err == nil && resp.StatusCode == 200
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			el := time.Since(t0)
			mu.Lock()
			if ok {
				lat = append(lat, el)
			} else {
				errs++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, errs
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(float64(len(lat))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
