package rollout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestValidate holds ebb's checks of a recorded state beyond Knative's
// (TestValidateFailures): each bad state is refused with the
// configuration and the field named.
func TestValidate(t *testing.T) {
	steps := Params{StartTime: t0, NextStepTime: at(2), StepDuration: d(int64(time.Second)), StepSize: 5}
	cfg := func(edit func(*ConfigurationRollout)) Rollout {
		c := ConfigurationRollout{ConfigurationName: "hello", Percent: 100, Revisions: revs("hello-00001", 99, "hello-00002", 1), StepParams: steps}
		edit(&c)
		return Rollout{Configurations: []ConfigurationRollout{c}}
	}
	tests := []struct {
		name    string
		r       Rollout
		wantErr string // empty: valid
	}{{
		name: "empty",
	}, {
		name: "a rollout in progress",
		r:    cfg(func(*ConfigurationRollout) {}),
	}, {
		name: "a rollout about to observe its steps",
		r:    cfg(func(c *ConfigurationRollout) { c.StepParams = Params{StartTime: t0} }),
	}, {
		name: "the same revision twice (latestRevision went back to it)",
		r:    cfg(func(c *ConfigurationRollout) { c.Revisions = revs("a", 50, "b", 49, "a", 1) }),
	}, {
		name:    "no start time",
		r:       cfg(func(c *ConfigurationRollout) { c.StepParams = Params{} }),
		wantErr: "configurations[0] (hello): stepParams.startTime: a rollout of 2 revisions needs a start time",
	}, {
		name:    "a step size without a step duration",
		r:       cfg(func(c *ConfigurationRollout) { c.StepParams.StepDuration = d(0) }),
		wantErr: "configurations[0] (hello): stepParams: a step size needs a step duration and a next step time",
	}, {
		name:    "a negative step duration",
		r:       cfg(func(c *ConfigurationRollout) { c.StepParams.StepDuration = d(-1) }),
		wantErr: "configurations[0] (hello): stepParams.stepDuration: -1ns must not be negative",
	}, {
		name:    "a revision at 0 % during a rollout",
		r:       cfg(func(c *ConfigurationRollout) { c.Revisions = revs("hello-00001", 100, "hello-00002", 0) }),
		wantErr: "configurations[0] (hello): revisions[1].percent: 0, want at least 1 during a rollout",
	}, {
		name:    "a revision without a name",
		r:       cfg(func(c *ConfigurationRollout) { c.Revisions[0].RevisionName = "" }),
		wantErr: "configurations[0] (hello): revisions[0].revisionName: must not be empty",
	}, {
		name:    "the revisions do not add up",
		r:       cfg(func(c *ConfigurationRollout) { c.Revisions[0].Percent = 98 }),
		wantErr: "configurations[0] (hello): revisions sum to 99, want percent (100)",
	}, {
		name: "out of order",
		r: Rollout{Configurations: []ConfigurationRollout{
			{ConfigurationName: "hello", Tag: "b", Percent: 100, Revisions: revs("hello-00001", 100)},
			{ConfigurationName: "hello", Tag: "a", Percent: 100, Revisions: revs("hello-00001", 100)},
		}},
		wantErr: "configurations: not sorted by tag and configurationName",
	}, {
		name: "listed twice",
		r: Rollout{Configurations: []ConfigurationRollout{
			{ConfigurationName: "hello", Percent: 50, Revisions: revs("hello-00001", 50)},
			{ConfigurationName: "hello", Percent: 50, Revisions: revs("hello-00001", 50)},
		}},
		wantErr: "configurations[1] (hello): listed twice",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestMarshal pins the encoding of a plan as recorded: the same bytes for
// the same plan, times in UTC with nanoseconds, the step as a Go duration.
func TestMarshal(t *testing.T) {
	plan, _ := Plan(Desired("hello", "hello-00001", 100), Desired("hello", "hello-00002", 100),
		t0.Add(500*time.Millisecond).In(time.FixedZone("CET", 3600)), 30*time.Second)
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"configurations":[{"configurationName":"hello","percent":100,` +
		`"revisions":[{"revisionName":"hello-00001","percent":99},{"revisionName":"hello-00002","percent":1}],` +
		`"stepParams":{"startTime":"2026-12-07T12:00:00.5Z","nextStepTime":"2026-12-07T12:00:02.5Z","stepDuration":"1s","stepSize":3}}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	var back Rollout
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !Equal(back, plan) {
		t.Errorf("read back %+v, want %+v", back, plan)
	}
	if b2, _ := json.Marshal(back); string(b2) != string(b) {
		t.Errorf("encoded again: %s, want %s", b2, b)
	}
}
