package rollout

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ts is the time n nanoseconds after the Unix epoch, as Knative's vectors
// give times; 0 is the zero time (unset).
func ts(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// d is a duration of n nanoseconds.
func d(n int64) metav1.Duration { return metav1.Duration{Duration: time.Duration(n)} }

// TestStep holds the vectors of Knative's TestStep (rollout_test.go).
func TestStep(t *testing.T) {
	for _, tc := range append(stepVectors, rollVectors...) {
		t.Run(tc.name, func(t *testing.T) {
			prev, cur := tc.prev.DeepCopy(), tc.cur.DeepCopy()
			got, gotWake := Step(tc.cur, tc.prev, ts(stepNow))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Step (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Step returned an invalid state: %v", err)
			}
			if diff := cmp.Diff(ts(tc.wantNextStep), gotWake); diff != "" {
				t.Errorf("Step's wake time (-want +got):\n%s", diff)
			}
			if !Equal(prev, tc.prev) || !Equal(cur, tc.cur) {
				t.Error("Step modified its arguments")
			}
		})
	}
}

// TestStepRevisions holds the vectors of Knative's TestStepRevisions.
func TestStepRevisions(t *testing.T) {
	tests := []struct {
		name string
		now  int64
		cfg  ConfigurationRollout
		want ConfigurationRollout
	}{{
		name: "noop (1): too soon",
		now:  1982,
		cfg: ConfigurationRollout{
			StepParams: Params{
				NextStepTime: ts(1984),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 10,
			}, {
				Percent: 5,
			}, {
				Percent: 60,
			}},
		},
		want: ConfigurationRollout{
			StepParams: Params{
				NextStepTime: ts(1984),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 10,
			}, {
				Percent: 5,
			}, {
				Percent: 60,
			}},
		},
	}, {
		name: "noop (2): done",
		now:  1982,
		cfg: ConfigurationRollout{
			StepParams: Params{
				NextStepTime: ts(1984),
				StepDuration: d(10),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 10,
			}},
		},
		want: ConfigurationRollout{
			StepParams: Params{
				NextStepTime: ts(1984),
				StepDuration: d(10),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 10,
			}},
		},
	}, {
		name: "step last, exact time",
		now:  1984,
		cfg: ConfigurationRollout{
			StepParams: Params{
				NextStepTime: ts(1984),
				StepSize:     10,
				StepDuration: d(55),
			},
			Percent: 90,
			Revisions: []RevisionRollout{{
				Percent: 30,
			}, {
				Percent: 60,
			}},
		},
		want: ConfigurationRollout{
			Percent: 90,
			StepParams: Params{
				NextStepTime: ts(1984 + 55),
				StepDuration: d(55),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 20,
			}, {
				Percent: 70,
			}},
		},
	}, {
		name: "step last, delete some",
		now:  1988,
		cfg: ConfigurationRollout{
			Percent: 90,
			StepParams: Params{
				NextStepTime: ts(1984),
				StepSize:     10,
				StepDuration: d(55),
			},
			Revisions: []RevisionRollout{{
				Percent: 22,
			}, {
				Percent: 5,
			}, {
				Percent: 3,
			}, {
				Percent: 60,
			}},
		},
		want: ConfigurationRollout{
			Percent: 90,
			StepParams: Params{
				NextStepTime: ts(1988 + 55),
				StepDuration: d(55),
				StepSize:     10,
			},
			Revisions: []RevisionRollout{{
				Percent: 20,
			}, {
				Percent: 70,
			}},
		},
	}, {
		name: "over target now",
		now:  1988,
		cfg: ConfigurationRollout{
			Percent: 15,
			StepParams: Params{
				NextStepTime: ts(1984),
				StepSize:     10,
				StepDuration: d(77),
			},
			Revisions: []RevisionRollout{{
				Percent: 5,
			}, {
				Percent: 1,
			}, {
				Percent: 1,
			}, {
				Percent: 8,
			}},
		},
		want: ConfigurationRollout{
			Percent:    15,
			StepParams: Params{},
			Revisions: []RevisionRollout{{
				Percent: 15,
			}},
		},
	}, {
		name: "the very last step",
		now:  2006,
		cfg: ConfigurationRollout{
			Percent: 15,
			StepParams: Params{
				NextStepTime: ts(1984),
				StartTime:    ts(1977),
				StepDuration: d(77),
				StepSize:     8,
			},
			Revisions: []RevisionRollout{{
				Percent: 5,
			}, {
				Percent: 1,
			}, {
				Percent: 1,
			}, {
				Percent: 8,
			}},
		},
		want: ConfigurationRollout{
			Percent:    15,
			StepParams: Params{},
			Revisions: []RevisionRollout{{
				Percent: 15,
			}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stepRevisions(&tc.cfg, ts(tc.now))
			if diff := cmp.Diff(tc.want, tc.cfg); diff != "" {
				t.Errorf("stepRevisions (-want +got):\n%s", diff)
			}
		})
	}
}
