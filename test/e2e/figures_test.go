package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// TestUpFigures: the requests a revision answers under ebb up reach its
// figures, which `ebb get revisions -o json` shows for the last minute:
// every request answered through the gateway is counted once, whether the
// activator or the revision's queue-proxy answered it.
func TestUpFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ebb up")
	}
	dir := copyExample(t, "hello", map[string]string{})
	u := startUp(t, dir)
	const host = "hello.default.svc.cluster.local"
	answered := 0 // requests the revision answered, by their status
	eventually(t, "Hello World! through the gateway", 2*time.Minute, func() string {
		code, body, err := u.get(host)
		if code != 0 && code != 404 {
			answered++ // the gateway answers 404 itself until the route exists
		}
		if err != nil || code != 200 || body != "Hello World!\n" {
			return fmt.Sprintf("%d %q %v", code, body, err)
		}
		return ""
	})
	const n = 40
	for range n {
		if code, _, err := u.get(host); code != 200 {
			t.Fatalf("request: %d %v", code, err)
		}
	}
	answered += n
	type figures struct {
		Requests    int64   `json:"requests"`
		Failures    int64   `json:"failures"`
		SuccessRate float64 `json:"successRate"`
		P99         string  `json:"p99"`
	}
	read := func() (*figures, string) {
		out, err := exec.Command(ebbBin, "get", "revisions", "--admin", u.admin, "-o", "json").Output()
		if err != nil {
			return nil, err.Error()
		}
		var svcs []struct {
			Revisions []struct {
				Name    string   `json:"name"`
				Figures *figures `json:"figures"`
			} `json:"revisions"`
		}
		if err := json.Unmarshal(out, &svcs); err != nil {
			return nil, err.Error()
		}
		for _, s := range svcs {
			for _, r := range s.Revisions {
				if r.Name == "hello-00001" && r.Figures != nil {
					return r.Figures, string(out)
				}
			}
		}
		return nil, string(out)
	}
	eventually(t, "the figures of hello-00001", 30*time.Second, func() string {
		if f, out := read(); f == nil || f.Requests < int64(answered) {
			return out
		}
		return ""
	})
	// Stats arrive within a second or two: any counted twice would show
	// after two more.
	time.Sleep(2 * time.Second)
	got, out := read()
	if got == nil || got.Requests != int64(answered) || got.Failures != 0 || got.SuccessRate != 100 || got.P99 == "" || got.P99 == "0s" {
		t.Errorf("figures = %+v, want %d requests, no failures, a p99\n%s", got, answered, out)
	}
}
