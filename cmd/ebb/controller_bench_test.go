//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/engine/webhook"
	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/runtime/cluster"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
)

// BenchmarkControllerB9 is B9 for the whole controller: the ebb binary
// runs `ebb controller` against a real apiserver and a Git repository of
// 1000 Services in 10 namespaces (client limit 100 requests/s). It
// reports the first reconcile (load, plan, ledger write-back, render,
// apply), the controller's memory, and push → applied latency with the
// webhook: a template change committed and pushed, a signed GitHub push
// event POSTed, until the new revision's Deployment exists; then, once
// --resync has passed, the memory of a full pass (a resync with nothing
// to change); last, one push that changes all 1000 Services (a bump).
//
//	EBB_KUBE_BIN=$(hack/kube-bin.sh) go test -run '^$' -bench ControllerB9 -benchtime 1x ./cmd/ebb/
func BenchmarkControllerB9(b *testing.B) {
	const services, namespaces, pushes = 1000, 10, 10
	// Long enough that the pushes are push passes even after a slow first
	// reconcile; the resync at the end is a full pass.
	const resync = 2 * time.Minute
	c := kubetest.Start(b, kubetest.Options{})
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(b.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ebb-system"}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// Built as .ko.yaml builds the image: static, without symbol tables
	// (their pages count in RSS too).
	bin := filepath.Join(b.TempDir(), "ebb")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v: %s", err, out)
	}

	// The repository: 10 Namespaces, 1000 Services.
	root := b.TempDir()
	bare, work := filepath.Join(root, "repo.git"), filepath.Join(root, "work")
	git := func(dir string, args ...string) { runGit(b, dir, args...) }
	git(root, "init", "-q", "--bare", "-b", "main", bare)
	if err := os.MkdirAll(work, 0o755); err != nil {
		b.Fatal(err)
	}
	git(work, "init", "-q", "-b", "main")
	svc := func(i int, version string) string {
		return fmt.Sprintf("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: svc-%d\n  namespace: bench-%d\nspec:\n  template:\n    spec:\n      containers:\n        - image: registry.example.com/app:1\n          env:\n            - name: VERSION\n              value: %q\n",
			i, i%namespaces, version)
	}
	for n := range namespaces {
		write(b, filepath.Join(work, fmt.Sprintf("ns-%d.yaml", n)), fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-%d\n", n))
	}
	for i := range services {
		write(b, filepath.Join(work, "services", fmt.Sprintf("svc-%d.yaml", i)), svc(i, "v1"))
	}
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "1000 services")
	git(work, "push", "-q", bare, "main")

	const secret = "bench-secret"
	cmd := exec.Command(bin, "controller", bare, "--kubeconfig", c.Kubeconfig, "--listen", "127.0.0.1:0",
		"--cache-dir", filepath.Join(root, "cache"), "--poll", "1h", "--resync", resync.String(), "--preview", "none", "--leader-elect=false",
		"--qps", "100", "--burst", "100", "--pprof")
	// The Go runtime settings manifests/controller.yaml gives the
	// controller, then EBB_BENCH_CONTROLLER_ENV (space-separated
	// NAME=value) for trying others.
	goEnv := manifestGoEnv(b)
	b.Logf("controller environment: %v", goEnv)
	cmd.Env = append(append(os.Environ(), append(goEnv, "EBB_WEBHOOK_SECRET="+secret)...), strings.Fields(os.Getenv("EBB_BENCH_CONTROLLER_ENV"))...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	admin := make(chan string, 1)
	var logs syncbuf.Buffer
	go func() {
		re := regexp.MustCompile(`admin=(\S+)`)
		sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case admin <- m[1]:
				default:
				}
			}
		}
	}()
	var addr string
	select {
	case addr = <-admin:
	case <-time.After(time.Minute):
		b.Fatalf("controller did not start:\n%s", logs.String())
	}

	waitFor := func(what string, limit time.Duration, f func() bool) time.Duration {
		b.Helper()
		t0 := time.Now()
		for !f() {
			if time.Since(t0) > limit {
				b.Fatalf("%s: gave up after %s", what, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(t0)
	}
	waitFor("first reconcile", 10*time.Minute, func() bool {
		doc, err := cluster.ReadStatus(b.Context(), cs, "ebb-system", "main")
		return err == nil && doc.Condition == cluster.Ready
	})
	first := time.Since(start)
	ssa, err := apply.New(c.Config(), apply.Options{})
	if err != nil {
		b.Fatal(err)
	}
	inv, err := ssa.Inventory(b.Context(), "main")
	if err != nil {
		b.Fatal(err)
	}
	objects := len(inv.Entries)
	time.Sleep(5 * time.Second) // let the first pass's garbage go
	rssAfter, hwm := procMemory(b, cmd.Process.Pid)
	// From here the peak is that of the pushes: writing 5 to clear_refs
	// resets VmHWM.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatal(err)
	}

	metricsBefore := scrapeSums(b, addr)
	cpu := make(chan []byte, 1)
	if dir := os.Getenv("EBB_BENCH_PROFILES"); dir != "" {
		// What was allocated before the pushes: the base for
		// go tool pprof -diff_base.
		resp, err := http.Get("http://" + addr + "/debug/pprof/allocs")
		if err != nil {
			b.Fatal(err)
		}
		prof, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		write(b, filepath.Join(dir, "controller-allocs-first.pprof"), string(prof))
		// A CPU profile of the controller during the first pushes.
		go func() {
			var prof []byte
			if resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=20"); err == nil {
				prof, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			cpu <- prof
		}()
	}
	// kick POSTs a signed GitHub push event to the webhook.
	kick := func() {
		b.Helper()
		body := []byte(`{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}`)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set(webhook.HeaderGitHubSignature, "sha256="+hex.EncodeToString(webhook.Sign([]byte(secret), body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("webhook answered %s", resp.Status)
		}
	}
	// Push → applied, with the webhook.
	git(work, "pull", "-q", bare, "main") // the ledger commit ebb pushed
	var lat []time.Duration
	for p := range pushes {
		write(b, filepath.Join(work, "services", "svc-0.yaml"), svc(0, fmt.Sprintf("v%d", p+2)))
		git(work, "commit", "-q", "-am", fmt.Sprintf("svc-0 v%d", p+2))
		git(work, "push", "-q", bare, "main")
		dep := fmt.Sprintf("svc-0-%05d-deployment", p+2)
		t0 := time.Now()
		kick()
		waitFor("push → applied", 2*time.Minute, func() bool {
			_, err := cs.AppsV1().Deployments("bench-0").Get(context.Background(), dep, metav1.GetOptions{})
			return err == nil
		})
		lat = append(lat, time.Since(t0))
		git(work, "pull", "-q", "--rebase", bare, "main")
	}
	rssEnd, hwmEnd := procMemory(b, cmd.Process.Pid)
	metricsAfter := scrapeSums(b, addr)
	// At rest: the last pass done, and the second of quiet after which
	// the controller hands its passes' freed memory back.
	time.Sleep(3 * time.Second)
	rssRest, hwmRest := procMemory(b, cmd.Process.Pid)
	lastPush := time.Now()
	if dir := os.Getenv("EBB_BENCH_PROFILES"); dir != "" {
		for _, p := range []string{"heap", "allocs"} {
			resp, err := http.Get("http://" + addr + "/debug/pprof/" + p)
			if err != nil {
				b.Fatal(err)
			}
			prof, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			write(b, filepath.Join(dir, "controller-"+p+".pprof"), string(prof))
		}
		write(b, filepath.Join(dir, "controller-cpu.pprof"), string(<-cpu))
		time.Sleep(100 * time.Millisecond) // the last pass's log lines
		write(b, filepath.Join(dir, "controller.log"), logs.String())
	}
	metricsRest := scrapeSums(b, addr)

	// A resync: once --resync has passed with nothing applied, a webhook
	// without a new commit applies the state again as a full pass (every
	// object rendered, listed and compared). Its peak is measured apart.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatal(err)
	}
	time.Sleep(time.Until(lastPush.Add(resync + time.Second)))
	applied := func() int { return strings.Count(logs.String(), "msg=applied") }
	before := applied()
	kick()
	resyncTook := waitFor("resync applied", 5*time.Minute, func() bool { return applied() > before })
	// A resync with nothing to change writes nothing.
	time.Sleep(100 * time.Millisecond) // the whole log line
	out := logs.String()
	line := out[strings.LastIndex(out, "msg=applied"):]
	line, _, _ = strings.Cut(line, "\n")
	for _, f := range strings.Fields(line) {
		if k, v, _ := strings.Cut(f, "="); (k == "created" || k == "configured" || k == "pruned" || k == "failed") && v != "0" {
			b.Errorf("the resync wrote or failed: %s", line)
			break
		}
	}
	_, hwmResync := procMemory(b, cmd.Process.Pid)

	// A bump: one push changes every Service's template (an image tag
	// moved everywhere), until its pass is applied. Its peak is measured
	// apart.
	time.Sleep(3 * time.Second)
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", cmd.Process.Pid), []byte("5"), 0); err != nil {
		b.Fatal(err)
	}
	git(work, "pull", "-q", "--rebase", bare, "main")
	for i := range services {
		write(b, filepath.Join(work, "services", fmt.Sprintf("svc-%d.yaml", i)), strings.Replace(svc(i, "bump"), "app:1", "app:2", 1))
	}
	git(work, "commit", "-q", "-am", "every Service: app:2")
	git(work, "push", "-q", bare, "main")
	before = applied()
	kick()
	bumpTook := waitFor("bump applied", 10*time.Minute, func() bool { return applied() > before })
	_, hwmBump := procMemory(b, cmd.Process.Pid)
	if dir := os.Getenv("EBB_BENCH_PROFILES"); dir != "" {
		// What the controller holds right after the bump.
		resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
		if err != nil {
			b.Fatal(err)
		}
		prof, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		write(b, filepath.Join(dir, "controller-heap-bump.pprof"), string(prof))
	}
	last := fmt.Sprintf("svc-%d-00002-deployment", services-1)
	if _, err := cs.AppsV1().Deployments(fmt.Sprintf("bench-%d", (services-1)%namespaces)).Get(context.Background(), last, metav1.GetOptions{}); err != nil {
		b.Errorf("after the bump: %v", err)
	}
	if dir := os.Getenv("EBB_BENCH_PROFILES"); dir != "" {
		write(b, filepath.Join(dir, "controller.log"), logs.String())
	}
	b.Logf("Go allocated %.1f MiB per push pass", (metricsAfter["go_memstats_alloc_bytes_total"]-metricsBefore["go_memstats_alloc_bytes_total"])/pushes/(1<<20))
	for _, m := range []struct {
		when string
		at   map[string]float64
	}{{"right after the pushes", metricsAfter}, {"at rest", metricsRest}} {
		b.Logf("Go memory %s: heap in use %.1f MiB, next GC at %.1f MiB, stacks %.1f MiB (%.0f goroutines), obtained from the OS %.1f MiB", m.when,
			m.at["go_memstats_heap_inuse_bytes"]/(1<<20), m.at["go_memstats_next_gc_bytes"]/(1<<20),
			m.at["go_memstats_stack_inuse_bytes"]/(1<<20), m.at["go_goroutines"], m.at["go_memstats_sys_bytes"]/(1<<20))
	}
	for _, name := range []string{"ebb_sync_duration_seconds", "ebb_apply_duration_seconds"} {
		n := metricsAfter[name+"_count"] - metricsBefore[name+"_count"]
		if n > 0 {
			b.Logf("%s: %.0f observations during the pushes, mean %.3f s", name, n, (metricsAfter[name+"_sum"]-metricsBefore[name+"_sum"])/n)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(objects)/first.Seconds(), "objects/s")
	b.ReportMetric(first.Seconds(), "first-reconcile-s")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "push-applied-p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "push-applied-max-ms")
	b.ReportMetric(float64(rssEnd)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(rssRest)/(1<<20), "rest-rss-MiB")
	b.ReportMetric(float64(hwm)/(1<<20), "peak-first-rss-MiB")
	b.ReportMetric(float64(max(hwmEnd, hwmRest))/(1<<20), "peak-push-rss-MiB")
	b.ReportMetric(float64(hwmResync)/(1<<20), "peak-resync-rss-MiB")
	b.ReportMetric(resyncTook.Seconds(), "resync-s")
	b.ReportMetric(float64(hwmBump)/(1<<20), "peak-bump-rss-MiB")
	b.ReportMetric(bumpTook.Seconds(), "bump-s")
	b.Logf("%d objects in %s (%.1f objects/s); RSS after first reconcile %.1f MiB (peak %.1f), right after %d pushes %.1f MiB (peak %.1f), at rest 3 s later %.1f MiB; push → applied %v",
		objects, first.Round(time.Millisecond), float64(objects)/first.Seconds(), float64(rssAfter)/(1<<20), float64(hwm)/(1<<20), pushes,
		float64(rssEnd)/(1<<20), float64(max(hwmEnd, hwmRest))/(1<<20), float64(rssRest)/(1<<20), lat)
}

// manifestGoEnv returns the GO* variables manifests/controller.yaml sets
// on the controller container, as NAME=value.
func manifestGoEnv(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "controller.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	doc, _, _ := strings.Cut(string(b), "\n---")
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
		tb.Fatalf("manifests/controller.yaml: %v", err)
	}
	var out []string
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "controller" {
			continue
		}
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "GO") && e.ValueFrom == nil {
				out = append(out, e.Name+"="+e.Value)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatal("manifests/controller.yaml: no GO* variable on the controller container")
	}
	return out
}

func write(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// procMemory reads a process's resident set and its peak, in bytes.
func procMemory(tb testing.TB, pid int) (rss, hwm int64) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	var anon, file int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		case "RssAnon:":
			anon = v >> 10
		case "RssFile:":
			file = v >> 10
		}
	}
	tb.Logf("RSS %d MiB: anonymous %d, file %d", rss>>20, anon, file)
	return rss, hwm
}

// scrapeSums reads the _sum and _count series of the controller's
// metrics, summed over labels, and Go's memory statistics.
func scrapeSums(tb testing.TB, addr string) map[string]float64 {
	tb.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		name, _, _ := strings.Cut(f[0], "{")
		if strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") || strings.HasPrefix(name, "go_memstats_") || name == "go_goroutines" {
			v, _ := strconv.ParseFloat(f[1], 64)
			out[name] += v
		}
	}
	return out
}
