package syncbuf

import (
	"context"
	"errors"
	"io"
	"regexp"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
)

// Await returns once a later write completes the match, and gives up
// with its context's error when none does.
// (synctest.Wait lets each write come while Await waits.)
func TestAwait(t *testing.T) {
	var b Buffer
	synctest.Test(t, func(t *testing.T) {
		io.WriteString(&b, `{"msg":"starting"}`+"\n")
		re := regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)
		got := make(chan []string, 1)
		go func() {
			m, err := b.Await(context.Background(), re)
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
		synctest.Wait()
		io.WriteString(&b, `{"msg":"serving",`)
		synctest.Wait()
		io.WriteString(&b, `"addr":"127.0.0.1:8080"}`+"\n")
		if diff := cmp.Diff([]string{`"msg":"serving","addr":"127.0.0.1:8080"`, "127.0.0.1:8080"}, <-got); diff != "" {
			t.Errorf("Await (-want +got):\n%s", diff)
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Await(ctx, regexp.MustCompile("never")); !errors.Is(err, context.Canceled) {
		t.Errorf("Await of what is never written: %v, want context.Canceled", err)
	}
}
