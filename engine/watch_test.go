package engine

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestWatchDir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "apps/hello.yaml", "a\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kicks := make(chan struct{}, 10)
	errc := make(chan error, 1)
	go func() {
		// The debounce is long against the gaps in a burst of writes, so
		// that a busy machine does not split one burst into two.
		errc <- WatchDir(ctx, dir, 400*time.Millisecond, func() { kicks <- struct{}{} })
	}()
	expect := func(what string, want bool) {
		t.Helper()
		select {
		case <-kicks:
			if !want {
				t.Errorf("%s: woke the watcher", what)
			}
		case <-time.After(2 * time.Second):
			if want {
				t.Fatalf("%s: no wake-up within two seconds", what)
			}
		}
	}
	// The watcher runs once a write wakes it: a write before it started
	// is not seen, so write until one is. A wake-up comes within the two
	// seconds expect allows, so no write follows the one that woke it.
	for n := 0; ; n++ {
		write(t, dir, "apps/probe.yaml", strconv.Itoa(n)+"\n")
		select {
		case <-kicks:
		case <-time.After(2 * time.Second):
			if n == 30 {
				t.Fatal("the watcher saw no write within a minute")
			}
			continue
		}
		break
	}

	// A burst of saves is one wake-up.
	for i := range 5 {
		write(t, dir, "apps/hello.yaml", string(rune('a'+i))+"\n")
	}
	expect("a burst of writes", true)
	expect("the same burst again", false)

	// Ledger writes and .git do not count.
	write(t, dir, ".ebb/default/hello.yaml", "ledger\n")
	write(t, dir, ".git/HEAD", "ref\n")
	expect("a ledger write", false)

	// A new directory is watched, with files created in it.
	if err := os.MkdirAll(filepath.Join(dir, "new/deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	expect("a new directory", true)
	write(t, dir, "new/deep/svc.yaml", "x\n")
	expect("a file in a new directory", true)

	// A symbolic link to a directory outside is not followed.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	expect("a new symbolic link", true)
	write(t, outside, "elsewhere.yaml", "x\n")
	expect("a file outside, through a link", false)

	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestHidden(t *testing.T) {
	for rel, want := range map[string]bool{
		"a.yaml": false, "apps/a.yaml": false, ".ebb/x.yaml": true, "apps/.git/HEAD": true, ".": false, "apps/.hidden": true,
	} {
		if got := hidden(rel); got != want {
			t.Errorf("hidden(%q) = %v", rel, got)
		}
	}
}
