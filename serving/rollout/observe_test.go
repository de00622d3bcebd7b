package rollout

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebb-dev/ebb/serving/traffic"
)

// TestObserveReady holds the vectors of Knative's TestObserveReady.
func TestObserveReady(t *testing.T) {
	const (
		now         = 200620092020 + 1982
		oldenDays   = 198219841988
		ancientDays = 14921812
		duration    = 120.
	)
	ro := Rollout{
		Configurations: []ConfigurationRollout{{
			Percent:           100,
			ConfigurationName: "has-step",
			StepParams: Params{
				StepDuration: d(11),
			},
		}, {
			ConfigurationName: "no-step-no-begin",
			Percent:           100,
		}, {
			ConfigurationName: "step-begin < 1s",
			StepParams: Params{
				StartTime: ts(200620092020),
			},
			Percent: 100,
		}, {
			ConfigurationName: "step-begin > 1s",
			StepParams: Params{
				StartTime: ts(oldenDays),
			},
			Percent: 100,
		}, {
			ConfigurationName: "step-begin > 1s, step size round up",
			StepParams: Params{
				StartTime: ts(oldenDays),
			},
			Percent: 75,
		}, {
			ConfigurationName: "Percent not 100%",
			StepParams: Params{
				StartTime: ts(oldenDays),
			},
			Percent: 50,
		}, {
			ConfigurationName: "días antiguos",
			StepParams: Params{
				StartTime: ts(ancientDays),
			},
			Percent: 13,
		}},
	}
	want := Rollout{
		Configurations: []ConfigurationRollout{{
			Percent:           100,
			ConfigurationName: "has-step",
			StepParams: Params{
				StepDuration: d(11),
			},
		}, {
			ConfigurationName: "no-step-no-begin",
			Percent:           100,
		}, {
			ConfigurationName: "step-begin < 1s",
			Percent:           100,
			StepParams: Params{
				StartTime:    ts(200620092020),
				StepDuration: d(1202020202),
				StepSize:     1,
				NextStepTime: ts(now + 1202020202),
			},
		}, {
			ConfigurationName: "step-begin > 1s",
			Percent:           100,
			StepParams: Params{
				StartTime:    ts(oldenDays),
				StepDuration: d(int64(3 * time.Second)),
				StepSize:     3,
				NextStepTime: ts(now + 3*int64(time.Second)),
			},
		}, {
			ConfigurationName: "step-begin > 1s, step size round up",
			Percent:           75,
			StepParams: Params{
				StartTime:    ts(oldenDays),
				StepDuration: d(int64(3 * time.Second)),
				StepSize:     75/40 + 1,
				NextStepTime: ts(now + 3*int64(time.Second)),
			},
		}, {
			ConfigurationName: "Percent not 100%",
			Percent:           50,
			StepParams: Params{
				StartTime:    ts(oldenDays),
				StepDuration: d(int64(3 * time.Second)),
				StepSize:     50 / 40,
				NextStepTime: ts(now + 3*int64(time.Second)),
			},
		}, {
			ConfigurationName: "días antiguos",
			Percent:           13,
			StepParams: Params{
				StartTime:    ts(ancientDays),
				StepDuration: d(int64(time.Second)),
				StepSize:     12,
				NextStepTime: ts(now + int64(time.Second)),
			},
		}},
	}
	got := ro.ObserveReady(ts(now), duration*time.Second)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ObserveReady (-want +got):\n%s", diff)
	}
}

// TestAdjustPercentage holds the vectors of Knative's TestAdjustPercentage.
func TestAdjustPercentage(t *testing.T) {
	tests := []struct {
		name string
		goal traffic.Percent
		prev ConfigurationRollout
		want []RevisionRollout
	}{{
		name: "noop, 100%",
		goal: 100,
		prev: ConfigurationRollout{
			Percent: 100,
			Revisions: []RevisionRollout{{
				Percent: 71,
			}, {
				Percent: 29,
			}},
		},
		want: []RevisionRollout{{
			Percent: 71,
		}, {
			Percent: 29,
		}},
	}, {
		name: "noop, 42%",
		goal: 42,
		prev: ConfigurationRollout{
			Percent: 42,
			Revisions: []RevisionRollout{{
				Percent: 21,
			}, {
				Percent: 21,
			}},
		},
		want: []RevisionRollout{{
			Percent: 21,
		}, {
			Percent: 21,
		}},
	}, {
		name: "raise, 42% -> 75%",
		goal: 75,
		prev: ConfigurationRollout{
			Percent: 42,
			Revisions: []RevisionRollout{{
				Percent: 21,
			}, {
				Percent: 21,
			}},
		},
		want: []RevisionRollout{{
			Percent: 21,
		}, {
			Percent: 54,
		}},
	}, {
		name: "lower, 75%->42%, lose 1",
		goal: 42,
		prev: ConfigurationRollout{
			Percent: 75,
			Revisions: []RevisionRollout{{
				Percent: 21,
			}, {
				Percent: 54,
			}},
		},
		want: []RevisionRollout{{
			Percent: 42,
		}},
	}, {
		name: "lower, 75%->42%, lose 1, update 2, keep 3",
		goal: 42,
		prev: ConfigurationRollout{
			Percent: 75,
			Revisions: []RevisionRollout{{
				Percent: 21,
			}, {
				Percent: 22,
			}, {
				Percent: 32,
			}},
		},
		want: []RevisionRollout{{
			Percent: 10,
		}, {
			Percent: 32,
		}},
	}, {
		name: "lower, 75%->42%, lose 2, update 3",
		goal: 42,
		prev: ConfigurationRollout{
			Percent: 75,
			Revisions: []RevisionRollout{{
				Percent: 10,
			}, {
				Percent: 5,
			}, {
				Percent: 60,
			}},
		},
		want: []RevisionRollout{{
			Percent: 42,
		}},
	}, {
		name: "go to 0%",
		goal: 0,
		prev: ConfigurationRollout{
			Percent: 75,
			Revisions: []RevisionRollout{{
				Percent: 10,
			}, {
				Percent: 5,
			}, {
				Percent: 60,
			}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			adjustPercentage(tc.goal, &tc.prev)
			if diff := cmp.Diff(tc.want, tc.prev.Revisions, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("adjustPercentage (-want +got):\n%s", diff)
			}
		})
	}
}
