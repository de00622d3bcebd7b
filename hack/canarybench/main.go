// Command canarybench measures benchmark B11: how fast `ebb up` rolls
// back an analysed canary that fails half of its requests, and how many
// requests failed meanwhile.
//
//	go run ./hack/canarybench [-configs 2s/2,10s/3] [-rounds 3] [-rate 200] [-workers 16] [-step-weight 10] [-min-requests N] [-healthy] [-ebb PATH]
//
// Each round writes a Git work tree serving the Service web (the app of
// examples/canary, built from this module through a go.work, analysed
// with the round's interval and threshold), runs `ebb up` on it and
// drives an open-loop load at -rate requests a second through the
// gateway. Once web serves, it commits a template whose app
// fails every second request and records every answer and every commit on
// main (the branch's ref is read every 10 ms). From those:
//
//   - t0: the first answer from the canary (a 500, or its version "bad");
//   - t1: when the rollback commit appeared on main;
//   - t2: the last answer from the canary; after it every answer must be
//     the stable revision's.
//
// It reports t1−t0 and t2−t0 against threshold × interval + 1 s, and the
// share of all answers that failed from the push to t2 against
// step-weight × 50 %. With -healthy a healthy template follows in the same
// `ebb up`, and the time from its first step to its promotion is reported
// against steps × interval. Only 127.0.0.1 is used; the load is bounded
// by -limit per round, and ebb up's process group is killed at the end of
// each round.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	configs := flag.String("configs", "2s/2,10s/3", "interval/threshold settings, comma-separated")
	rounds := flag.Int("rounds", 3, "rounds per setting")
	rate := flag.Int("rate", 200, "requests a second, open loop")
	workers := flag.Int("workers", 16, "goroutines sending the requests")
	step := flag.Int("step-weight", 10, "canary.ebb.dev/step-weight")
	minRequests := flag.Int("min-requests", 0, "canary.ebb.dev/min-requests (default: not set, ebb's default)")
	healthy := flag.Bool("healthy", false, "after each rollback, roll out a healthy canary and time its promotion")
	limit := flag.Duration("limit", 5*time.Minute, "longest load of a round")
	ebb := flag.String("ebb", "", "an ebb binary to use (default: build ./cmd/ebb)")
	flag.Parse()
	cs, err := parseConfigs(*configs, *step, *minRequests)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "ebb-canarybench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	root, err := filepath.Abs(".")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "canary", "app")); err != nil {
		log.Fatal("run from the root of the ebb module")
	}
	if *ebb == "" {
		*ebb = filepath.Join(tmp, "ebb")
		if out, err := exec.Command("go", "build", "-o", *ebb, "./cmd/ebb").CombinedOutput(); err != nil {
			log.Fatalf("build ebb (run from the root of the ebb module): %v\n%s", err, out)
		}
	}
	b := bench{root: root, ebb: *ebb, tmp: tmp, rate: *rate, workers: *workers, healthy: *healthy, limit: *limit}
	fmt.Printf("B11 analysed canary rollback under ebb up (%s, %d CPUs, %s; %d req/s open loop, %d workers, step-weight %d, min-requests %s)\n\n",
		runtime.GOOS, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 MST"), *rate, *workers, *step, minString(*minRequests))
	fmt.Println("| interval/threshold | round | load avg | answers | push→t0 | t1−t0 | t2−t0 | target | t1 (stdout)−t0 | failed push→t2 | canary t0→t2 | failed t0→t2 | missed | after t2 | promote |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	results := map[config][]result{}
	for _, c := range cs {
		for i := range *rounds {
			if ctx.Err() != nil {
				return
			}
			r, err := b.round(ctx, c)
			if err != nil {
				log.Printf("%s/%d round %d: %v", c.interval, c.threshold, i+1, err)
				continue
			}
			results[c] = append(results[c], r)
			fmt.Println(r.row(c, i+1))
		}
	}
	fmt.Println()
	fmt.Println("| interval/threshold | rounds | t1−t0 p50 | max | t2−t0 p50 | max | target | failed push→t2 p50 | max | target |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range cs {
		rs := results[c]
		if len(rs) == 0 {
			continue
		}
		t1 := sorted(rs, func(r result) time.Duration { return r.t1.Sub(r.t0) })
		t2 := sorted(rs, func(r result) time.Duration { return r.t2.Sub(r.t0) })
		failed := sorted(rs, func(r result) float64 { return r.failedPush })
		fmt.Printf("| %s/%d | %d | %s | %s | %s | %s | %s | %.2f%% | %.2f%% | %.1f%% |\n", c.interval, c.threshold, len(rs),
			sec(t1[(len(t1)-1)/2]), sec(t1[len(t1)-1]), sec(t2[(len(t2)-1)/2]), sec(t2[len(t2)-1]),
			sec(c.target()), failed[(len(failed)-1)/2], failed[len(failed)-1], float64(c.step)/2)
	}
}

// bench is what every round shares.
type bench struct {
	root, ebb, tmp string
	rate, workers  int
	healthy        bool
	limit          time.Duration
}

// target is the rollback target: threshold × interval + 1 s.
func (c config) target() time.Duration {
	return time.Duration(c.threshold)*c.interval + time.Second
}

// steps is how many checks a healthy canary passes up to its promotion
// at the default max-weight, 50.
func (c config) steps() int { return (50 + c.step - 1) / c.step }

func parseConfigs(s string, step, minRequests int) ([]config, error) {
	var out []config
	for f := range strings.SplitSeq(s, ",") {
		iv, th, ok := strings.Cut(strings.TrimSpace(f), "/")
		d, err := time.ParseDuration(iv)
		n, err2 := strconv.Atoi(th)
		if !ok || err != nil || err2 != nil || d < time.Second || n < 1 {
			return nil, fmt.Errorf("-configs: %q: want INTERVAL/THRESHOLD, e.g. 2s/2", f)
		}
		out = append(out, config{interval: d, threshold: n, step: step, minRequests: minRequests})
	}
	return out, nil
}

func sorted[T time.Duration | float64](rs []result, f func(result) T) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	slices.Sort(out)
	return out
}

func minString(n int) string {
	if n == 0 {
		return "default"
	}
	return strconv.Itoa(n)
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// loadAvg is the machine's load average over 1, 5 and 15 minutes.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}
