package rollout

// rollVectors are Knative's TestStep vectors from "simplest, roll" on:
// rollouts that start, and configurations and tags that come and go.
var rollVectors = []stepVector{{
	name: "simplest, roll",
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
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      100,
			}},
			StepParams: Params{
				NextStepTime: ts(1984),
				StartTime:    ts(1981),
				StepDuration: d(1988),
				StepSize:     11,
			},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      99,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll with percentage change down",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           33,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      33,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           42,
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      11,
			}, {
				RevisionName: "aftermath",
				Percent:      31,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           33,
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      2,
			}, {
				RevisionName: "aftermath",
				Percent:      30,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll with percentage change up",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           75,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      75,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           25,
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      11,
			}, {
				RevisionName: "aftermath",
				Percent:      14,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Percent: 75,
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      11,
			}, {
				RevisionName: "aftermath",
				Percent:      63,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll, where sum < 100% (one route targets a revision, e.g.)",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "brian",
			Percent:           70,
			Revisions: []RevisionRollout{{
				RevisionName: "let-it-bleed",
				Percent:      70,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "brian",
			Percent:           70,
			Revisions: []RevisionRollout{{
				RevisionName: "exile-on-main-st",
				Percent:      70,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "brian",
			Percent:           70,
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "exile-on-main-st",
				Percent:      69,
			}, {
				RevisionName: "let-it-bleed",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll with two existing revisions, no deletes",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "sticky-fingers",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			StepParams: Params{
				StartTime: ts(stepNow - 1982),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      95,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      5,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      95,
			}, {
				RevisionName: "beggars-banquet",
				Percent:      4,
			}, {
				RevisionName: "sticky-fingers",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll with delete (two fast successive rolls)",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
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
			StepParams: Params{
				StartTime: ts(stepNow - 1984),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      99,
			}, {
				RevisionName: "bridges-to-babylon",
				Percent:      1,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Percent: 100,
			Revisions: []RevisionRollout{{
				RevisionName: "goat-head-soup",
				Percent:      99,
			}, {
				RevisionName: "between-the-buttons",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "roll with delete (minimal config target)",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "between-the-buttons",
				Percent:      1,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "bridges-to-babylon",
				Percent:      1,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "between-the-buttons",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "new tag, no roll",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}, {
			ConfigurationName: "mick",
			Tag:               "jagger",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}, {
			ConfigurationName: "mick",
			Tag:               "jagger",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}},
	},
}, {
	name: "deleted config, no roll",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      100,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      50,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      50,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      100,
			}},
		}},
	},
}, {
	name: "a/b config, roll both",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           99,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      99,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      1,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           99,
			Revisions: []RevisionRollout{{
				RevisionName: "can't-get-no-satisfaction",
				Percent:      99,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "get-off-my-cloud",
				Percent:      1,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           99,
			StepParams: Params{
				StartTime: ts(stepNow),
			},
			Revisions: []RevisionRollout{{
				RevisionName: "can't-get-no-satisfaction",
				Percent:      98,
			}, {
				RevisionName: "black-on-blue",
				Percent:      1,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           1,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      1,
			}},
		}},
	},
}, {
	name: "new config, no roll, newer smaller",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      50,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      50,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "mick",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      50,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      50,
			}},
		}},
	},
}, {
	name: "new config, no roll, newer larger",
	cur: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      50,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      50,
			}},
		}},
	},
	prev: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      100,
			}},
		}},
	},
	want: Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "keith",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      50,
			}},
		}, {
			ConfigurationName: "mick",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "it's-only-rock-n-roll",
				Percent:      50,
			}},
		}},
	},
}}
