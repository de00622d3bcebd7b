// Command coldstart measures benchmark B5: requests to services at zero
// under `ebb up`, 1, 5, 25 and 100 services at once. For every request it
// takes the time to the first byte and subtracts the app's own start-up
// (from its main function to listening), which leaves the platform's
// overhead: activator hold, autoscaler decision, process start, readiness
// probing and proxying.
//
//	go run ./hack/coldstart [-sizes 1,5,25,100] [-rounds 20,6,2,1] [-settle 3s]
//
// Services start at zero (initial-scale 0), so each round is one `ebb up`
// whose first requests are all cold; they are sent once the services have
// sat at zero for -settle (3 s), time in which a revision's image is
// resolved, as it is long before a real cold start. Only 127.0.0.1 is used.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"time"
)

func main() {
	sizes := flag.String("sizes", "1,5,25,100", "services started at once, per size")
	settle := flag.Duration("settle", 3*time.Second, "time the services sit at zero before the requests")
	rounds := flag.String("rounds", "20,6,2,1", "rounds per size")
	flag.Parse()
	ns, rs := ints(*sizes), ints(*rounds)
	if len(ns) != len(rs) {
		log.Fatal("-sizes and -rounds differ in length")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		log.Fatal("run from the root of the ebb module")
	}
	tmp, err := os.MkdirTemp("", "ebb-coldstart-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ebb := filepath.Join(tmp, "ebb")
	if out, err := exec.Command("go", "build", "-o", ebb, "./cmd/ebb").CombinedOutput(); err != nil {
		log.Fatalf("build ebb: %v\n%s", err, out)
	}

	// One round of one service first: it builds the app, which is not a
	// cold start's cost.
	if _, err := round(ebb, root, tmp, 1, *settle); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("B5 cold start from zero under ebb up (%s, %d CPUs, %s)\n\n", runtime.GOOS, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	fmt.Println("| services at once | requests | errors | overhead p50 | p95 | p99 | app start→listen p50 | first byte p50 | p95 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for i, n := range ns {
		var all []sample
		errs := 0
		for range rs[i] {
			s, err := round(ebb, root, tmp, n, *settle)
			if err != nil {
				log.Printf("round of %d: %v", n, err)
				errs += n
				continue
			}
			for _, x := range s {
				if x.err != nil {
					errs++
				} else {
					all = append(all, x)
				}
			}
		}
		over := durations(all, func(s sample) time.Duration { return s.firstByte - s.appStart })
		app := durations(all, func(s sample) time.Duration { return s.appStart })
		fb := durations(all, func(s sample) time.Duration { return s.firstByte })
		fmt.Printf("| %d | %d | %d | %s | %s | %s | %s | %s | %s |\n", n, len(all)+errs, errs,
			pct(over, 50), pct(over, 95), pct(over, 99), pct(app, 50), pct(fb, 50), pct(fb, 95))
	}
}

// sample is one cold request: time to first byte, and the app's own
// start-up (main to listening).
type sample struct {
	firstByte, appStart time.Duration
	err                 error
}

const service = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: %s
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - image: ko://github.com/ebb-dev/ebb/hack/coldstart/app
`

const autoscaler = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: ebb-system
data:
  allow-zero-initial-scale: "true"
`

var servingLine = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) \(status: ebb get services --admin (127\.0\.0\.1:\d+)\)`)

// round starts ebb up on n services at zero, sends one request to each at
// once, and stops ebb up.
func round(ebb, root, tmp string, n int, settle time.Duration) ([]sample, error) {
	dir, err := os.MkdirTemp(tmp, "repo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.work":                "go 1.26.0\n\nuse " + root + "\n",
		"config-autoscaler.yaml": autoscaler,
	}
	for i := range n {
		name := fmt.Sprintf("svc-%03d", i)
		files[name+".yaml"] = fmt.Sprintf(service, name)
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(ebb, "up", dir, "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	sc := bufio.NewScanner(stdout)
	var gateway string
	for sc.Scan() {
		if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
			gateway = m[1]
		}
		// The services block follows the first pass: routes are in place.
		if gateway != "" && strings.HasPrefix(sc.Text(), "ebb: services") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if gateway == "" {
		return nil, fmt.Errorf("ebb up did not start")
	}
	// A revision that sits at zero has had its image resolved long since,
	// as in a cluster; let that happen before the cold requests.
	time.Sleep(settle)
	out := make([]sample, n)
	var wg gosync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = cold(gateway, fmt.Sprintf("svc-%03d.default.svc.cluster.local", i)) })
	}
	wg.Wait()
	return out, nil
}

// cold sends one request and times it.
func cold(gateway, host string) sample {
	req, _ := http.NewRequest(http.MethodGet, "http://"+gateway+"/", nil)
	req.Host = host
	var first time.Time
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotFirstResponseByte: func() { first = time.Now() },
	}))
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	began := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return sample{err: err}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sample{err: fmt.Errorf("%s: status %d", host, resp.StatusCode)}
	}
	start, err1 := strconv.ParseInt(resp.Header.Get("X-App-Start"), 10, 64)
	listen, err2 := strconv.ParseInt(resp.Header.Get("X-App-Listen"), 10, 64)
	if err1 != nil || err2 != nil {
		return sample{err: fmt.Errorf("%s: no app timing headers", host)}
	}
	return sample{firstByte: first.Sub(began), appStart: time.Duration(listen - start)}
}

func durations(s []sample, f func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	slices.Sort(out)
	return out
}

func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "–"
	}
	i := min(len(d)-1, (len(d)*p+99)/100-1)
	return d[max(i, 0)].Round(100 * time.Microsecond).String()
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatalf("%q: %v", s, err)
		}
		out = append(out, n)
	}
	return out
}
