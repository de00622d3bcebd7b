package leader

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestClaim(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.MicroTime { m := metav1.NewMicroTime(t0.Add(d)); return &m }
	spec := func(holder string, seconds, transitions int32, acquired, renewed time.Duration) coordinationv1.LeaseSpec {
		return coordinationv1.LeaseSpec{HolderIdentity: new(holder), LeaseDurationSeconds: new(seconds),
			AcquireTime: at(acquired), RenewTime: at(renewed), LeaseTransitions: new(transitions)}
	}
	for _, tc := range []struct {
		name string
		cur  coordinationv1.LeaseSpec
		seen time.Duration // since t0, when cur was first seen
		now  time.Duration
		want coordinationv1.LeaseSpec
		ok   bool
	}{{
		name: "no Lease yet",
		now:  time.Second,
		want: spec("me", 15, 0, time.Second, time.Second), ok: true,
	}, {
		name: "another's, valid",
		cur:  spec("other", 15, 3, 0, 0), seen: 0, now: 14 * time.Second,
	}, {
		name: "another's, expired since it was seen",
		cur:  spec("other", 15, 3, 0, 0), seen: 0, now: 16 * time.Second,
		want: spec("me", 15, 4, 16*time.Second, 16*time.Second), ok: true,
	}, {
		// The holder's own timestamps say nothing: only the time this
		// candidate has watched the Lease unchanged counts.
		name: "another's, old timestamps, seen just now",
		cur:  spec("other", 15, 3, -time.Hour, -time.Hour), seen: 10 * time.Second, now: 11 * time.Second,
	}, {
		name: "mine: renewed, acquire time kept",
		cur:  spec("me", 15, 2, -time.Minute, 0), seen: 0, now: 2 * time.Second,
		want: spec("me", 15, 2, -time.Minute, 2*time.Second), ok: true,
	}, {
		name: "mine, expired: still mine",
		cur:  spec("me", 15, 2, -time.Minute, 0), seen: 0, now: time.Minute,
		want: spec("me", 15, 2, -time.Minute, time.Minute), ok: true,
	}, {
		name: "released",
		cur:  spec("", 1, 5, 0, 0), seen: 0, now: 0,
		want: spec("me", 15, 6, 0, 0), ok: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := claim(tc.cur, t0.Add(tc.seen), "me", 15*time.Second, t0.Add(tc.now))
			if ok != tc.ok {
				t.Fatalf("claim ok = %v, want %v", ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("claim (-want +got):\n%s", diff)
			}
		})
	}
}
