package cluster

import (
	"context"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/sync"
	"github.com/ebb-dev/ebb/sync/apply"
)

// Applier is the apply step the Target needs (apply.SSA).
type Applier interface {
	Apply(ctx context.Context, source string, objects []*unstructured.Unstructured) (apply.ChangeSet, error)
}

// Autoscaler is what the Target tells the autoscaler (scaler.Autoscaler).
type Autoscaler interface {
	Upsert(rev scaler.Revision)
	Remove(key scaler.RevisionKey)
	SetConfig(cfg *autoscaling.Config)
}

// Target is the cluster's sync.Target: it applies a repository state's
// objects under one source's inventory, registers its revisions with the
// autoscaler, and reports what changed (Events, metrics, the status
// ConfigMap).
type Target struct {
	Applier Applier
	// Source names the inventory (a DNS label).
	Source string
	// Autoscaler, when set, is told the revisions and the configuration.
	Autoscaler Autoscaler
	// Forget, when set, is called with revisions that went away (the
	// Runtime's Forget).
	Forget func(scaler.RevisionKey)
	// Events, Metrics and Status are optional.
	Events  *Events
	Metrics *Metrics
	Status  *Status
	Logger  *slog.Logger
	// Now is the clock for the sync duration metric (default time.Now).
	Now func() time.Time

	mu    gosync.Mutex
	known map[scaler.RevisionKey]bool
	last  apply.ChangeSet
}

var _ sync.Target = (*Target)(nil)

// Apply applies d and registers its revisions. It returns the apply's
// error (per-object failures joined) after every other step has run: the
// revisions that did apply are scaled even when one object failed.
func (t *Target) Apply(ctx context.Context, d *sync.Desired) error {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	start := now()
	if t.Status != nil {
		t.Status.Begin(ctx, d.At)
	}
	cs, err := t.Applier.Apply(ctx, t.Source, d.Objects)
	t.mu.Lock()
	t.last = cs
	t.mu.Unlock()
	if t.Metrics != nil {
		t.Metrics.Applied(cs, err, now().Sub(start))
	}
	if t.Events != nil {
		versions := make(map[apply.Ref]string, len(d.Objects))
		for _, o := range d.Objects {
			versions[apply.RefOf(o)] = o.GetAPIVersion()
		}
		t.Events.Record(ctx, d.At, cs, versions)
	}
	if t.Logger != nil {
		t.Logger.Info("applied", "commit", d.At.Commit, "took", now().Sub(start).Round(time.Millisecond), "created", cs.Count(apply.Created),
			"configured", cs.Count(apply.Configured), "unchanged", cs.Count(apply.Unchanged),
			"pruned", cs.Count(apply.Pruned), "failed", cs.Count(apply.Failed))
	}
	t.register(d)
	if t.Status != nil {
		t.Status.Applied(ctx, d, err)
	}
	if err != nil {
		return fmt.Errorf("source %s at %s: %w", t.Source, d.At.Commit, err)
	}
	return nil
}

// LastChangeSet returns what the last Apply did.
func (t *Target) LastChangeSet() apply.ChangeSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// register tells the autoscaler every revision d runs, and forgets the
// ones it no longer does.
func (t *Target) register(d *sync.Desired) {
	if t.Autoscaler == nil {
		return
	}
	if d.Tree != nil && d.Tree.Config != nil {
		t.Autoscaler.SetConfig(d.Tree.Config.Autoscaler)
	}
	revs := sync.AutoscaledRevisions(d)
	known := map[scaler.RevisionKey]bool{}
	for _, r := range revs {
		t.Autoscaler.Upsert(r)
		known[r.Key] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.known {
		if !known[k] {
			t.Autoscaler.Remove(k)
			if t.Forget != nil {
				t.Forget(k)
			}
		}
	}
	t.known = known
}
