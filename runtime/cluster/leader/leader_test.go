//go:build unix

package leader_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/internal/kubetest"
	"github.com/ebb-dev/ebb/runtime/cluster/leader"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }

// wait bounds every wait for an election; short Lease timings below keep
// the real waits around a second or two.
const wait = time.Minute

func config(identity string) leader.Config {
	return leader.Config{
		Namespace: "default", Name: "ebb-controller", Identity: identity,
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond,
	}
}

type candidate struct {
	cancel context.CancelFunc
	result chan error
}

// campaign runs a candidate whose work reports "start <id>" and, when its
// context ends, "stop <id>" on events.
func campaign(t *testing.T, leases rest.Interface, id string, events chan string) *candidate {
	ctx, cancel := context.WithCancel(t.Context())
	c := &candidate{cancel: cancel, result: make(chan error, 1)}
	go func() {
		c.result <- leader.Run(ctx, leases, config(id), func(ctx context.Context) {
			events <- "start " + id
			<-ctx.Done()
			events <- "stop " + id
		})
	}()
	t.Cleanup(cancel)
	return c
}

func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %v", what, wait)
		panic("unreachable")
	}
}

func holder(t *testing.T, leases coordinationv1.LeasesGetter) string {
	t.Helper()
	l, err := leases.Leases("default").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// Of two candidates one leads; when it stops, the other takes over, and
// only after the first's work has ended; a leader whose Lease is taken
// stops.
func TestOneLeaderThenHandOver(t *testing.T) {
	c := kubetest.Shared(t)
	leases, err := coordinationv1.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	k := kubetest.Clients(t, c.Config())
	events := make(chan string, 8)
	cands := map[string]*candidate{
		"a": campaign(t, k.Coordination, "a", events),
		"b": campaign(t, k.Coordination, "b", events),
	}
	other := map[string]string{"a": "b", "b": "a"}

	var first string
	switch ev := receive(t, events, "leader"); ev {
	case "start a", "start b":
		first = ev[len("start "):]
	default:
		t.Fatalf("first event %q, want a start", ev)
	}
	if got := holder(t, leases); got != first {
		t.Fatalf("Lease held by %q, but %q leads", got, first)
	}

	// The hand-over: the first's work ends before the second's begins.
	cands[first].cancel()
	second := other[first]
	for _, want := range []string{"stop " + first, "start " + second} {
		if got := receive(t, events, want); got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	}
	if err := receive(t, cands[first].result, "return of the first Run"); err != nil {
		t.Errorf("Run of the cancelled leader = %v, want nil", err)
	}
	if got := holder(t, leases); got != second {
		t.Errorf("Lease held by %q after the hand-over, want %q", got, second)
	}

	// The Lease taken from under the leader: it stops and Run says so.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := leases.Leases("default").Get(t.Context(), "ebb-controller", metav1.GetOptions{})
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity = ptr.To("intruder")
		l.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
		_, err = leases.Leases("default").Update(t.Context(), l, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The intruder's hour-long Lease would keep a later run (-count) from
	// electing anyone.
	t.Cleanup(func() {
		if err := leases.Leases("default").Delete(context.Background(), "ebb-controller", metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting the Lease: %v", err)
		}
	})
	if got := receive(t, events, "stop of the displaced leader"); got != "stop "+second {
		t.Errorf("event %q, want stop %s", got, second)
	}
	if err := receive(t, cands[second].result, "return of the displaced Run"); !errors.Is(err, leader.ErrLost) {
		t.Errorf("Run of the displaced leader = %v, want ErrLost", err)
	}
}

func TestConfigRequiresNames(t *testing.T) {
	err := leader.Run(t.Context(), nil, leader.Config{Name: "x"}, func(context.Context) {})
	if err == nil {
		t.Fatal("Run without namespace and identity succeeded")
	}
}

// Timings that cannot work are refused with what is wrong; zero fields
// take the defaults.
func TestCheckTimings(t *testing.T) {
	for _, tc := range []struct {
		lease, renew, retry time.Duration
		want                string
	}{
		{0, 0, 0, ""},
		{2 * time.Second, 1500 * time.Millisecond, 200 * time.Millisecond, ""},
		{500 * time.Millisecond, 0, 0, "Lease duration 500ms: want at least 1s"},
		{10 * time.Second, 10 * time.Second, 0, "renew deadline 10s: want less than the Lease duration 10s"},
		{15 * time.Second, 2 * time.Second, 2 * time.Second, "renew deadline 2s: want more than 1.2 × the retry period 2s"},
		{-time.Second, 0, 0, "negative Lease timings"},
	} {
		c := leader.Config{LeaseDuration: tc.lease, RenewDeadline: tc.renew, RetryPeriod: tc.retry}
		err := c.CheckTimings()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckTimings(%s, %s, %s) = %v, want %q", tc.lease, tc.renew, tc.retry, err, tc.want)
		}
	}
}
