package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		name            string
		desired         int32
		actual          int
		ready           Condition
		reason, message string
		want            RevisionHealth
	}{
		{"ready", 2, 2, True, "", "", RevisionHealth{Desired: 2, Actual: 2, Ready: True}},
		{"scaled to zero", 0, 0, True, "", "", RevisionHealth{Ready: True, Reason: "scaled to zero"}},
		{"still draining to zero", 0, 1, True, "", "", RevisionHealth{Actual: 1, Ready: True}},
		{"failed, with Knative's reason and message", 1, 0, False, "ExitCode1", "Container failed with: boom",
			RevisionHealth{Desired: 1, Ready: False, Reason: "ExitCode1: Container failed with: boom"}},
		{"a reason alone", 1, 0, Unknown, "waiting for pods", "", RevisionHealth{Desired: 1, Ready: Unknown, Reason: "waiting for pods"}},
		{"a message alone", 1, 0, Unknown, "", "deadline exceeded", RevisionHealth{Desired: 1, Ready: Unknown, Reason: "deadline exceeded"}},
		{"a message wins over scaled to zero", 0, 0, True, "Idle", "no traffic", RevisionHealth{Ready: True, Reason: "Idle: no traffic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Health(tc.desired, tc.actual, tc.ready, tc.reason, tc.message)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Health (-want +got):\n%s", diff)
			}
		})
	}
}
