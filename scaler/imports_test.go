package scaler

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries: the scaler never pulls in client-go (runtimes
// implement its small interfaces instead), and scaler/autoscaling, which
// parsing and rendering use, depends on the standard library only.
func TestImportBoundaries(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	deps := func(pkg string) []string {
		out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps("github.com/ebb-dev/ebb/scaler/...") {
		if strings.HasPrefix(d, "k8s.io/") || strings.HasPrefix(d, "sigs.k8s.io/") {
			t.Errorf("scaler depends on %s", d)
		}
	}
	for _, d := range deps("github.com/ebb-dev/ebb/scaler/autoscaling") {
		if d != "github.com/ebb-dev/ebb/scaler/autoscaling" {
			t.Errorf("scaler/autoscaling depends on %s", d)
		}
	}
}
