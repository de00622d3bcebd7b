package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/engine/forge"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/canary"
)

func TestCommitStatuses(t *testing.T) {
	const (
		user, ledger, bad = "user000000000000", "ledger0000000000", "bad0000000000000"
		pr7, pr8, pr9     = "pr7", "pr8", "pr9"
		canaryCommit      = "canary0000000000"
	)
	web := func(ready Condition, reason string) ServiceStatus {
		return ServiceStatus{Namespace: "default", Name: "web", URL: "http://web.default.example.com",
			Tags: []TagURL{{Tag: "pr-7", URL: "http://pr-7-web.default.example.com"}},
			Revisions: []RevisionStatus{
				{Name: "web-pr-7-abcdef0", Tags: []string{"pr-7"}, Ready: ready, Reason: reason},
				{Name: "web-00001", Percent: 100, Ready: True},
			}}
	}
	preview7 := PreviewStatus{Ref: "refs/pull/7/head", Tag: "pr-7", Commit: pr7, Services: []string{"default/web"}}
	rollout := func(s canary.State) []*serving.Ledger {
		return []*serving.Ledger{{Namespace: "shop", Service: "cart", Rollout: &s, Revisions: []serving.Revision{
			{Name: "cart-00001", Created: serving.Stamp{Commit: "old"}},
			{Name: "cart-00002", Created: serving.Stamp{Commit: canaryCommit}},
		}}}
	}
	last := &canary.Check{Canary: canary.Figures{Requests: 200, Failures: 1, P99: "12ms"}, Stable: canary.Figures{Requests: 800}}
	applied := func(commit string) CommitStatus {
		return CommitStatus{Commit: commit, Status: forge.Status{Context: "ebb/apply", State: forge.Success, Description: "applied"}}
	}
	for _, tc := range []struct {
		name string
		in   StatusState
		want []CommitStatus
	}{
		{"applied with a ledger commit", StatusState{Source: SourceStatus{Fetched: ledger, Applied: ledger, Pushed: user}}, []CommitStatus{
			applied(ledger),
			{Commit: user, Status: forge.Status{Context: "ebb/apply", State: forge.Success, Description: "applied, with ledger commit ledger000000"}},
		}},
		{"invalid head", StatusState{Source: SourceStatus{Fetched: bad, Applied: user, Pushed: user, ErrorStage: StageInvalid,
			LastError: "web.yaml:14: spec.traffic: Traffic targets sum to 90, want 100\nweb.yaml:20: spec.template: bad"}}, []CommitStatus{
			{Commit: bad, Status: forge.Status{Context: "ebb/apply", State: forge.Failure, Description: "invalid: web.yaml:14: spec.traffic: Traffic targets sum to 90, want 100"}},
			applied(user),
		}},
		{"unverified head", StatusState{Source: SourceStatus{Fetched: bad, Applied: user, Pushed: user, ErrorStage: StageUnverified,
			LastError: "commit bad0000: not signed by a trusted key"}}, []CommitStatus{
			{Commit: bad, Status: forge.Status{Context: "ebb/apply", State: forge.Failure, Description: "unverified: commit bad0000: not signed by a trusted key"}},
			applied(user),
		}},
		{"a fetch error marks no commit", StatusState{Source: SourceStatus{Fetched: user, Applied: user, ErrorStage: StageFetch, LastError: "fetch: timeout"}},
			[]CommitStatus{applied(user)}},
		{"preview starting", StatusState{Source: SourceStatus{Previews: []PreviewStatus{preview7}}, Services: []ServiceStatus{web(Unknown, "")}}, []CommitStatus{
			{Commit: pr7, Status: forge.Status{Context: "ebb/preview/web", State: forge.Pending, Description: "starting"}},
		}},
		{"preview building", StatusState{Source: SourceStatus{Previews: []PreviewStatus{preview7}}, Services: []ServiceStatus{web(Unknown, "building ko://example.com/web")}}, []CommitStatus{
			{Commit: pr7, Status: forge.Status{Context: "ebb/preview/web", State: forge.Pending, Description: "starting: building ko://example.com/web"}},
		}},
		{"preview ready", StatusState{Source: SourceStatus{Previews: []PreviewStatus{preview7}}, Services: []ServiceStatus{web(True, "")}}, []CommitStatus{
			{Commit: pr7, Status: forge.Status{Context: "ebb/preview/web", State: forge.Success, Description: "ready at http://pr-7-web.default.example.com",
				TargetURL: "http://pr-7-web.default.example.com"}},
		}},
		{"preview failed", StatusState{Source: SourceStatus{Previews: []PreviewStatus{preview7}}, Services: []ServiceStatus{web(False, "exit status 2")}}, []CommitStatus{
			{Commit: pr7, Status: forge.Status{Context: "ebb/preview/web", State: forge.Failure, Description: "not ready: exit status 2"}},
		}},
		{"preview refused, and one in a namespace of its own", StatusState{Source: SourceStatus{Previews: []PreviewStatus{
			{Ref: "refs/pull/8/head", Tag: "pr-8", Commit: pr8, Error: "web.yaml:9: spec.template.spec.containers[0].image: image \"evil\" is not allowed"},
			{Ref: "refs/pull/9/head", Tag: "pr-9", Commit: pr9, Services: []string{"previews/web-pr-9"}},
		}}, Services: []ServiceStatus{{Namespace: "previews", Name: "web-pr-9", URL: "http://web-pr-9.previews.example.com", Ready: True,
			Revisions: []RevisionStatus{{Name: "web-pr-9-abcdef0", Percent: 100, Ready: True}}}}}, []CommitStatus{
			{Commit: pr8, Status: forge.Status{Context: "ebb/preview", State: forge.Failure, Description: "web.yaml:9: spec.template.spec.containers[0].image: image \"evil\" is not allowed"}},
			{Commit: pr9, Status: forge.Status{Context: "ebb/preview/previews/web", State: forge.Success, Description: "ready at http://web-pr-9.previews.example.com",
				TargetURL: "http://web-pr-9.previews.example.com"}},
		}},
		{"canary stepping", StatusState{Ledgers: rollout(canary.State{Canary: "cart-00002", Stable: "cart-00001", Phase: canary.Progressing, Weight: 20, FailedChecks: 1, Last: last}),
			Services: []ServiceStatus{{Namespace: "shop", Name: "cart", URL: "http://cart.shop.example.com",
				Rollout: &RolloutStatus{State: canary.State{Canary: "cart-00002", Phase: canary.Progressing, Weight: 20, FailedChecks: 1, Last: last}, Threshold: 3}}}}, []CommitStatus{
			{Commit: canaryCommit, Status: forge.Status{Context: "ebb/rollout/shop/cart", State: forge.Pending, TargetURL: "http://cart.shop.example.com",
				Description: "cart-00002 20% Progressing, 1 of 3 checks failed; last check 99.5% success (1 of 200 requests failed), p99 12ms"}},
		}},
		{"canary promoted", StatusState{Ledgers: rollout(canary.State{Canary: "cart-00002", Stable: "cart-00001", Phase: canary.Promoted, Weight: 100, Last: last})}, []CommitStatus{
			{Commit: canaryCommit, Status: forge.Status{Context: "ebb/rollout/shop/cart", State: forge.Success,
				Description: "cart-00002 promoted; last check 99.5% success (1 of 200 requests failed), p99 12ms"}},
		}},
		{"canary rolled back", StatusState{Ledgers: rollout(canary.State{Canary: "cart-00002", Stable: "cart-00001", Phase: canary.RolledBack,
			Reason: "success 80.0% < 99%, 3 of 3 checks", Last: last})}, []CommitStatus{
			{Commit: canaryCommit, Status: forge.Status{Context: "ebb/rollout/shop/cart", State: forge.Failure,
				Description: "cart-00002 rolled back: success 80.0% < 99%, 3 of 3 checks"}},
		}},
	} {
		if diff := cmp.Diff(tc.want, CommitStatuses(tc.in)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestCommitStatusesShortened(t *testing.T) {
	got := CommitStatuses(StatusState{Source: SourceStatus{Fetched: "c", ErrorStage: StageApply, LastError: strings.Repeat("x", 300)}})
	if len(got) != 1 || len([]rune(got[0].Description)) != forge.MaxDescription {
		t.Errorf("got %+v, want one status of %d characters", got, forge.MaxDescription)
	}
}
