package rollout

// stepNow is the time of every Step vector.
const stepNow = 2020

// stepVector is one vector of Knative's TestStep: Step(cur, prev, now)
// gives want, and the earliest step due at wantNextStep.
type stepVector struct {
	name            string
	prev, cur, want Rollout
	wantNextStep    int64
}

// stepVectors are Knative's TestStep vectors that start no rollout.
var stepVectors = []stepVector{{
	name: "no prev",
	cur:  Rollout{},
	prev: Rollout{},
	want: Rollout{},
}, {
	name: "prev is empty",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
		}},
	},
}, {
	name: "simplest, same",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
			StepParams: Params{
				NextStepTime: ts(2009),
				StepDuration: d(2020),
				StartTime:    ts(2004),
				StepSize:     14,
			},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
		}},
	},
}, {
	name: "simplest, step",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			StepParams: Params{
				NextStepTime: ts(2019),
				StepDuration: d(5),
				StartTime:    ts(2004),
				StepSize:     3,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      95,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      5,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      92,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      8,
			}},
			StepParams: Params{
				NextStepTime: ts(stepNow + 5),
				StepDuration: d(5),
				StartTime:    ts(2004),
				StepSize:     3,
			},
		}},
	},
	wantNextStep: stepNow + 5,
}, {
	name: "multiple configs step",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           42,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      42,
			}},
		}, {
			ConfigurationName: "keith",
			Percent:           52,
			Revisions: []RevisionRollout{{
				RevisionName: "beggars-banquet",
				Percent:      52,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           42,
			StepParams: Params{
				NextStepTime: ts(2019),
				StepDuration: d(43),
				StartTime:    ts(1961),
				StepSize:     3,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      37,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      5,
			}},
		}, {
			ConfigurationName: "keith",
			Percent:           52,
			StepParams: Params{
				NextStepTime: ts(2018),
				StepDuration: d(55),
				StartTime:    ts(1971),
				StepSize:     4,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "sticky-fingers",
				Percent:      36,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      16,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           52,
			StepParams: Params{
				NextStepTime: ts(stepNow + 55),
				StepDuration: d(55),
				StartTime:    ts(1971),
				StepSize:     4,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "sticky-fingers",
				Percent:      32,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      20,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           42,
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      34,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      8,
			}},
			StepParams: Params{
				NextStepTime: ts(stepNow + 43),
				StepDuration: d(43),
				StartTime:    ts(1961),
				StepSize:     3,
			},
		}},
	},
	wantNextStep: stepNow + 43,
}, {
	name: "multiple configs step and roll",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           42,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      42,
			}},
		}, {
			ConfigurationName: "keith",
			Percent:           52,
			Revisions: []RevisionRollout{{
				RevisionName: "tattoo-you",
				Percent:      52,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           42,
			StepParams: Params{
				NextStepTime: ts(2019),
				StepDuration: d(43),
				StartTime:    ts(1961),
				StepSize:     3,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      37,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      5,
			}},
		}, {
			ConfigurationName: "keith",
			Percent:           52,
			StepParams: Params{
				NextStepTime: ts(2018),
				StepDuration: d(55),
				StartTime:    ts(1971),
				StepSize:     4,
			},
			Revisions: []RevisionRollout{{
				RevisionName: "sticky-fingers",
				Percent:      36,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      16,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           52,
			StepParams: Params{
				StartTime: ts(2020),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "sticky-fingers",
				Percent:      36,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      15,
			}, {
				RevisionName: "tattoo-you",
				Percent:      1,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           42,
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      34,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      8,
			}},
			StepParams: Params{
				NextStepTime: ts(stepNow + 43),
				StepDuration: d(43),
				StartTime:    ts(1961),
				StepSize:     3,
			},
		}},
	},
	wantNextStep: stepNow + 43,
}, {
	name: "simplest, step, when stepsize=0",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      100,
			}},
			StepParams: Params{
				NextStepTime: ts(2009),
				StepDuration: d(2020),
				StartTime:    ts(2004),
				StepSize:     14,
			},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			StepParams: Params{
				StartTime: ts(2004),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      95,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      5,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "their-satanic-majesties-request",
				Percent:      95,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      5,
			}},
			StepParams: Params{
				StartTime: ts(2004),
			},
		}},
	},
}, {
	name: "when new revision becomes 0%",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "charlie",
			Percent:           0,
			Revisions: []RevisionRollout{{
				RevisionName: "aftermath",
				Percent:      0,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "charlie",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "your-satanic-majesties-request",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{},
}, {
	name: "when new config is added but it's 0%",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "charlie",
			Percent:           0,
			Revisions: []RevisionRollout{{
				RevisionName: "aftermath",
				Percent:      0,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "between-the-buttons",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "between-the-buttons",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "between-the-buttons",
				Percent:      100,
			}},
		}},
	},
}}
