// Command load sends a steady stream of requests to a Service through a
// gateway and prints, every second, which revisions answered and how many
// requests failed: a canary's share and its failures, watched from a
// shell.
//
//	go run ./examples/canary/load -addr 127.0.0.1:8080 -host web.default.svc.cluster.local
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the gateway's address")
	host := flag.String("host", "web.default.svc.cluster.local", "the Service's host")
	rate := flag.Int("rate", 100, "requests per second")
	duration := flag.Duration("duration", 5*time.Minute, "how long to send")
	flag.Parse()

	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	counts := map[string]int{}
	get := func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+*addr+"/", nil)
		req.Host = *host
		key := "failed"
		if resp, err := client.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				key = strings.Fields(string(b))[0]
			}
		}
		mu.Lock()
		counts[key]++
		mu.Unlock()
	}

	tick := time.NewTicker(time.Second / time.Duration(max(*rate, 1)))
	defer tick.Stop()
	report := time.NewTicker(time.Second)
	defer report.Stop()
	end := time.After(*duration)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-end:
			return
		case <-tick.C:
			wg.Go(get)
		case now := <-report.C:
			mu.Lock()
			line := summary(counts)
			counts = map[string]int{}
			mu.Unlock()
			fmt.Fprintf(os.Stdout, "%s  %s\n", now.Format("15:04:05"), line)
		}
	}
}

// summary is "web-00001 80%  web-00002 20%  failed 9" for one second's
// answers.
func summary(counts map[string]int) string {
	total := 0
	var names []string
	for k, n := range counts {
		total += n
		if k != "failed" {
			names = append(names, k)
		}
	}
	if total == 0 {
		return "no answers"
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %d%%", k, 100*counts[k]/total))
	}
	return strings.Join(append(parts, fmt.Sprintf("failed %d", counts["failed"])), "  ")
}
