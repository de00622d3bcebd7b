// Command bench runs ebb's data-plane benchmarks (B1–B4 and B10 of the
// project's benchmark plan) against their peers on 127.0.0.1 and prints
// Markdown tables:
//
//	go run ./hack/bench proxy [-d 2s] [-rounds 3] [-only B1,B3]
//
// It builds `ebb`, ebb's sidecar build (cmd/ebb/sidecar, the default
// queue-sidecar image) and Knative's queue-proxy (from hack/peers, its own
// Go module) into a cache directory the way ko builds images (CGO off,
// -trimpath, -ldflags "-s -w"), installs wrk with apt-get when it is
// missing, and runs every server as its own process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "proxy":
		err = runProxy(os.Args[2:])
	case "app":
		err = serveApp(os.Args[2:])
	case "queue":
		err = serveQueue(os.Args[2:])
	case "stock":
		err = serveStock(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go run ./hack/bench proxy [-d duration] [-only B1,B2,B3,B4,B10]")
	os.Exit(2)
}

// env is what every benchmark needs.
type env struct {
	self    string // this binary, for the app and stock roles
	ebb     string
	sidecar string // the queue-proxy-only build of ebb
	knative string
	wrk     string
	d       time.Duration
	b2d     time.Duration
	rounds  int
}

func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	d := fs.Duration("d", 2*time.Second, "duration of each wrk run")
	rounds := fs.Int("rounds", 3, "B1 rounds (the median is reported)")
	b2d := fs.Duration("b2", 10*time.Second, "duration of each B2 open-loop run (the plan says 60s)")
	only := fs.String("only", "B1,B2,B3,B4,B10", "benchmarks to run")
	cache := fs.String("cache", filepath.Join(os.TempDir(), "ebb-bench"), "where built binaries are kept")
	fs.Parse(args)

	root, err := repoRoot()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	e := &env{self: self, d: *d, b2d: *b2d, rounds: max(*rounds, 1)}
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		return err
	}
	e.ebb = filepath.Join(*cache, "ebb")
	e.sidecar = filepath.Join(*cache, "ebb-sidecar")
	e.knative = filepath.Join(*cache, "knative-queue")
	step("build ebb")
	if err := goBuild(root, e.ebb, "./cmd/ebb"); err != nil {
		return err
	}
	step("build ebb's sidecar (cmd/ebb/sidecar)")
	if err := goBuild(root, e.sidecar, "./cmd/ebb/sidecar"); err != nil {
		return err
	}
	step("build Knative's queue-proxy (knative.dev/serving v0.48.1, from hack/peers)")
	if err := goBuild(filepath.Join(root, "hack", "peers"), e.knative, "knative.dev/serving/cmd/queue"); err != nil {
		return err
	}
	if e.wrk, err = exec.LookPath("wrk"); err != nil {
		step("install wrk")
		if err := sh(root, "apt-get", "install", "-y", "-qq", "wrk"); err != nil {
			if err := sh(root, "apt-get", "update", "-qq"); err != nil {
				return err
			}
			if err := sh(root, "apt-get", "install", "-y", "-qq", "wrk"); err != nil {
				return err
			}
		}
		if e.wrk, err = exec.LookPath("wrk"); err != nil {
			return err
		}
	}
	fmt.Printf("\n# ebb data-plane benchmarks, %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	ctx := context.Background()
	for _, b := range strings.Split(*only, ",") {
		var err error
		switch strings.TrimSpace(b) {
		case "B1":
			err = benchB1(ctx, e)
		case "B2":
			err = benchB2(ctx, e)
		case "B3":
			err = benchB3(ctx, e)
		case "B4":
			err = benchB4(ctx, e)
		case "B10":
			err = benchB10(ctx, e)
		default:
			err = fmt.Errorf("unknown benchmark %q", b)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", b, err)
		}
	}
	return nil
}

func step(s string) { fmt.Fprintln(os.Stderr, "==", s) }

// goBuild builds pkg as .ko.yaml builds an image: CGO off, -trimpath,
// symbols and DWARF stripped.
func goBuild(dir, out, pkg string) error {
	return shEnv(dir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
}

func sh(dir, name string, args ...string) error { return shEnv(dir, nil, name, args...) }

func shEnv(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	cmd.Env = append(append(os.Environ(), "GOTOOLCHAIN=local"), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (run from the repository): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
