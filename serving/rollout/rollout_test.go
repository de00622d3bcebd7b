package rollout

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestValidateFailures holds the vectors of Knative's TestValidateFailures;
// ebb's own cases are in TestValidate.
func TestValidateFailures(t *testing.T) {
	tests := []struct {
		name string
		r    Rollout
	}{{
		name: "config > 100%",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "keith",
				Percent:           101,
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      101,
				}},
			}},
		},
	}, {
		name: "step larger than total",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "keith",
				Percent:           71,
				StepParams: Params{
					StepSize: 75,
				},
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      71,
				}},
			}},
		},
	}, {
		name: "step negative",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "keith",
				Percent:           71,
				StepParams: Params{
					StepSize: -1,
				},
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      71,
				}},
			}},
		},
	}, {
		name: "rev more than config",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "keith",
				Percent:           42,
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      43,
				}},
			}},
		},
	}, {
		name: "revs more than config",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "keith",
				Percent:           42,
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      41,
				}, {
					RevisionName: "smith",
					Percent:      3,
				}},
			}},
		},
	}, {
		name: "2nd config > 100%",
		r: Rollout{
			Configurations: []ConfigurationRollout{{
				ConfigurationName: "rob",
				Percent:           10,
				Revisions: []RevisionRollout{{
					RevisionName: "roy",
					Percent:      10,
				}},
			}, {
				ConfigurationName: "keith",
				Tag:               "richards",
				Percent:           101,
				Revisions: []RevisionRollout{{
					RevisionName: "black-on-blue",
					Percent:      101,
				}},
			}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.r.Validate(); err == nil {
				t.Errorf("Validate accepted %+v", tc.r)
			}
		})
	}
}

// TestConfigDone is Knative's TestConfigDone.
func TestConfigDone(t *testing.T) {
	r := Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "nil",
			Percent:           100,
		}, {
			ConfigurationName: "one",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "roy",
				Percent:      100,
			}},
		}, {
			ConfigurationName: "no",
			Percent:           0,
			Revisions:         []RevisionRollout{},
		}, {
			ConfigurationName: "many",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      83,
			}, {
				RevisionName: "flowers",
				Percent:      17,
			}},
		}},
	}
	if !r.Configurations[0].Done() {
		t.Error("Nil revision slice rollout is not `Done`")
	}
	if !r.Configurations[1].Done() {
		t.Error("Single revision rollout is not `Done`")
	}
	if !r.Configurations[2].Done() {
		t.Error("Zero revisions rollout is not `Done`")
	}
	if r.Configurations[3].Done() {
		t.Error("Many revisions rollout is `Done`")
	}
	if r.Done() {
		t.Error("Whole Rollout was marked done, but it's not")
	}
	r.Configurations = r.Configurations[:3]
	if !r.Done() {
		t.Error("Updated Rollout without the last one was marked not done, but it is")
	}
}

// TestJSONRoundtrip is Knative's TestJSONRoundtrip.
func TestJSONRoundtrip(t *testing.T) {
	orig := Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "one",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "roy",
				Percent:      100,
			}},
			StepParams: Params{
				StartTime:    ts(1955),
				NextStepTime: ts(1988),
				StepDuration: d(1984),
			},
		}, {
			ConfigurationName: "no",
			Percent:           0,
			Revisions:         []RevisionRollout{},
		}, {
			ConfigurationName: "many",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "black-on-blue",
				Percent:      83,
			}, {
				RevisionName: "flowers",
				Percent:      17,
			}},
		}},
	}
	ss, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}
	var got Rollout
	if err := json.Unmarshal(ss, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", ss, err)
	}
	if diff := cmp.Diff(orig, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("JSON round trip of %s (-want +got):\n%s", ss, diff)
	}
}

// TestGetByTag is Knative's TestGetByTag.
func TestGetByTag(t *testing.T) {
	r := Rollout{
		Configurations: []ConfigurationRollout{{
			ConfigurationName: "one",
			Percent:           50,
			Revisions: []RevisionRollout{{
				RevisionName: "rob",
				Percent:      10,
			}, {
				RevisionName: "roy",
				Percent:      40,
			}},
		}, {
			ConfigurationName: "two",
			Percent:           40,
			Revisions: []RevisionRollout{{
				RevisionName: "wish",
				Percent:      40,
			}},
		}, {
			ConfigurationName: "two",
			Tag:               "gilberto",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "wish",
				Percent:      100,
			}},
		}, {
			ConfigurationName: "three",
			Percent:           10,
			Revisions: []RevisionRollout{{
				RevisionName: "forty-two",
				Percent:      5,
			}, {
				RevisionName: "flowers",
				Percent:      5,
			}},
		}, {
			ConfigurationName: "three",
			Tag:               "jobim",
			Percent:           100,
			Revisions: []RevisionRollout{{
				RevisionName: "forty-two",
				Percent:      60,
			}, {
				RevisionName: "flowers",
				Percent:      40,
			}},
		}},
	}
	sortConfigurations(&r)
	wantDef := []ConfigurationRollout{r.Configurations[0], r.Configurations[1], r.Configurations[2]}
	wantGilberto := []ConfigurationRollout{r.Configurations[3]}
	wantJobim := []ConfigurationRollout{r.Configurations[4]}
	if diff := cmp.Diff(wantDef, r.ByTag("")); diff != "" {
		t.Errorf("ByTag(%q) (-want +got):\n%s", "", diff)
	}
	if diff := cmp.Diff(wantGilberto, r.ByTag("gilberto")); diff != "" {
		t.Errorf("ByTag(%q) (-want +got):\n%s", "gilberto", diff)
	}
	if diff := cmp.Diff(wantJobim, r.ByTag("jobim")); diff != "" {
		t.Errorf("ByTag(%q) (-want +got):\n%s", "jobim", diff)
	}
	if diff := cmp.Diff([]ConfigurationRollout{}, r.ByTag("nyaful")); diff != "" {
		t.Errorf("ByTag(%q) (-want +got):\n%s", "nyaful", diff)
	}
}
