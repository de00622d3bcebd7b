package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/queue"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
)

// Options configure a Runtime.
type Options struct {
	// Dir is the serving repository: ko:// builds run there, and relative
	// commands and working directories resolve against it.
	Dir string
	// Builder builds ko:// images; nil builds into a temporary cache.
	Builder *Builder
	// Logs receives the containers' output, a line at a time.
	Logs *Logs
	// Logger receives the runtime's own logs; nil discards them.
	Logger *slog.Logger
	// QueueConfig maps a queue-proxy container's environment to its
	// configuration, as `ebb queue` does. Required.
	QueueConfig func(getenv func(string) string) (queue.Config, error)
	// DrainQuietPeriod is how long a stopping pod's queue-proxy waits for
	// requests already on their way. Locally a pod leaves the routing at
	// once, so this can be short.
	DrainQuietPeriod time.Duration
	// OnTable receives the route table whenever Apply changes it.
	OnTable func(route.Table)
	// Source, if set, names the directory a revision builds and runs from
	// instead of Dir ("" for Dir): a checkout of the commit its template
	// came from, when that is not Dir's. A revision whose source changes
	// gets new pods, built from the new one.
	Source func(key scaler.RevisionKey) string
	// Code, if set, returns the content digests of a revision's ko://
	// images as its ledger records them (serving.Revision.Code): its pods
	// run the binary of that code, kept per digest (see
	// Builder.BuildCode). Nil, or an image without one: the code its
	// directory holds when it is first built.
	Code func(key scaler.RevisionKey) map[string]string
	// Reachable, if set, tells whether a route sends a revision traffic
	// (or a tag names it). A revision no route reaches is retired: new to
	// the runtime it starts with no pods, and its containers that exit
	// are not restarted until it is reachable again. Nil: every revision
	// is reachable.
	Reachable func(key scaler.RevisionKey) bool
	// Backoff is the restart policy of user containers; zero means
	// DefaultBackoff, the kubelet's.
	Backoff Backoff
	// Sandbox, if set, runs the pods of previews' revisions as another
	// user.
	Sandbox *Sandbox
	// Locate, if set, adds the file and line to an error about a field of
	// a revision's template (a *serving.FieldError naming its Service),
	// from the state being applied (see serving.Tree.Locate).
	Locate func(error) error
}

// Runtime runs rendered revisions as local processes: each rendered
// revision Deployment becomes a set of pods, each a supervised user
// process behind an in-process queue-proxy. It is the local edge of the
// autoscaler (scaler.Scaler, scaler.PodLister) and of the activator and
// gateway (activator.Backends, activator.Failures).
type Runtime struct {
	opts     Options
	backends *backend.Static
	// publishing orders publish calls: each reads the pods and sets the
	// addresses as one step, so a publish that read the pods earlier
	// cannot set its older addresses after a later one.
	publishing sync.Mutex

	mu        sync.Mutex
	revisions map[scaler.RevisionKey]*revision
	// failed holds the revisions Apply could not run, with the reason.
	failed map[scaler.RevisionKey]error
	table  []byte
	closed bool
	// stopping are the pods being stopped outside of Shutdown.
	stopping map[*pod]bool

	// ctx ends background work (image builds) on Close.
	ctx    context.Context
	cancel context.CancelFunc
}

// revision is one revision's pods and the size the autoscaler asked for.
type revision struct {
	key  scaler.RevisionKey
	spec *podSpec
	want int32
	pods []*pod
	// retiring pods ran an older spec; they serve until a pod of the
	// current spec is ready, then stop.
	retiring []*pod
	seq      int
	// everReady is set once a pod of the revision was ready.
	everReady bool
	// ready is the condition last published to the watchers.
	ready Readiness
}

var (
	_ scaler.Scaler      = (*Runtime)(nil)
	_ scaler.PodLister   = (*Runtime)(nil)
	_ activator.Backends = (*Runtime)(nil)
	_ activator.Failures = (*Runtime)(nil)
)

// NewRuntime returns an empty Runtime.
func NewRuntime(opts Options) (*Runtime, error) {
	if opts.QueueConfig == nil {
		return nil, errors.New("local runtime: QueueConfig is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Logs == nil {
		opts.Logs = NewLogs(io.Discard)
	}
	if opts.Builder == nil {
		opts.Builder = &Builder{Dir: opts.Dir}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runtime{opts: opts, backends: backend.NewStatic(), ctx: ctx, cancel: cancel,
		revisions: map[scaler.RevisionKey]*revision{}, failed: map[scaler.RevisionKey]error{}, stopping: map[*pod]bool{}}, nil
}

// RevisionError is why one revision cannot run here; the others run on.
type RevisionError struct {
	Key scaler.RevisionKey
	Err error
}

func (e *RevisionError) Error() string { return e.Key.String() + ": " + e.Err.Error() }
func (e *RevisionError) Unwrap() error { return e.Err }

// Apply makes the runtime run what objs describe: a revision Deployment
// that is new gets its initial replicas, one whose pod template changed
// gets new pods, and one no longer rendered is stopped. Route-table
// ConfigMaps are merged and passed to OnTable. Replicas of revisions
// already running are the autoscaler's, not the Deployment's. A revision
// that cannot run locally is reported in the returned error and skipped;
// the rest are applied.
func (r *Runtime) Apply(objs []*unstructured.Unstructured) error {
	d := r.desired(objs)

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("local runtime is closed")
	}
	// The revisions whose condition changes here, besides those with
	// pods, which publish their own.
	touched := r.setFailedLocked(d.failed)
	stop, removed := r.updateLocked(d.specs)
	touched = append(touched, removed...)
	touched = append(touched, r.addLocked(d.specs)...)
	changed := r.setTableLocked(d.tables)
	r.mu.Unlock()

	if changed {
		r.opts.OnTable(route.Merge(d.tables...))
	}
	for _, key := range touched {
		r.publish(key)
	}
	r.stopPods(stop)
	return errors.Join(d.errs...)
}

// desiredState is what Apply reads from the objects it is given.
type desiredState struct {
	// specs are the pods of the revisions that can run here.
	specs map[scaler.RevisionKey]*podSpec
	// failed are the revisions that cannot, with the reason.
	failed map[scaler.RevisionKey]error
	// tables are the route tables, in order.
	tables []route.Table
	// errs are what Apply returns.
	errs []error
}

// desired reads the revision Deployments and route-table ConfigMaps of
// objs; a revision whose Deployment cannot be parsed, or whose ko://
// image no module provides (checkModules), is failed.
func (r *Runtime) desired(objs []*unstructured.Unstructured) desiredState {
	idx := indexObjects(objs)
	d := desiredState{specs: map[scaler.RevisionKey]*podSpec{}, failed: map[scaler.RevisionKey]error{}}
	var ko []scaler.RevisionKey // the revisions with a ko:// image, in order
	for _, o := range objs {
		switch {
		case isRevisionDeployment(o):
			key := scaler.RevisionKey{Namespace: o.GetNamespace(), Name: o.GetLabels()[route.RevisionLabel]}
			s, err := r.parseRevision(o, idx, key)
			if err != nil {
				d.errs = append(d.errs, &RevisionError{Key: key, Err: err})
				d.failed[key] = withReason(ReasonCreateContainerConfigError, err)
				continue
			}
			d.specs[key] = s
			if len(s.command) == 0 {
				ko = append(ko, key)
			}
		case isRouteTable(o):
			data, _, _ := unstructured.NestedString(o.Object, "data", route.DataKey)
			t, err := route.Decode([]byte(data))
			if err != nil {
				d.errs = append(d.errs, fmt.Errorf("route table %s/%s: %w", o.GetNamespace(), o.GetName(), err))
				continue
			}
			d.tables = append(d.tables, t)
		}
	}
	for _, re := range r.checkModules(ko, d.specs) {
		d.errs = append(d.errs, re)
		d.failed[re.Key] = re.Err
		delete(d.specs, re.Key)
	}
	return d
}

// parseRevision returns the pod spec of a revision Deployment, run from
// the revision's source (Options.Source) with its code (Options.Code).
func (r *Runtime) parseRevision(o *unstructured.Unstructured, idx objectIndex, key scaler.RevisionKey) (*podSpec, error) {
	var source string
	if r.opts.Source != nil {
		source = r.opts.Source(key)
	}
	var code map[string]string
	if r.opts.Code != nil {
		code = r.opts.Code(key)
	}
	return parseDeployment(o, idx, source, code)
}

// isRouteTable reports whether o is a route-table ConfigMap.
func isRouteTable(o *unstructured.Unstructured) bool {
	return o.GetAPIVersion() == "v1" && o.GetKind() == "ConfigMap" && o.GetLabels()[route.LabelKey] == route.LabelValue
}

// setFailedLocked records the revisions that cannot run and returns those
// whose failure is new, changed or over. r.mu is held.
func (r *Runtime) setFailedLocked(failed map[scaler.RevisionKey]error) (touched []scaler.RevisionKey) {
	for key, err := range failed {
		if old, ok := r.failed[key]; !ok || old.Error() != err.Error() {
			touched = append(touched, key)
		}
	}
	for key := range r.failed {
		if _, ok := failed[key]; !ok {
			touched = append(touched, key)
		}
	}
	r.failed = failed
	return touched
}

// updateLocked brings the running revisions to specs: one no longer in
// specs is removed, and its pods returned to stop with the others that
// go. r.mu is held.
func (r *Runtime) updateLocked(specs map[scaler.RevisionKey]*podSpec) (stop []*pod, removed []scaler.RevisionKey) {
	for key, rev := range r.revisions {
		s, ok := specs[key]
		if !ok {
			stop = append(append(stop, rev.pods...), rev.retiring...)
			delete(r.revisions, key)
			removed = append(removed, key)
			continue
		}
		stop = append(stop, r.updateRevisionLocked(rev, s)...)
	}
	return stop, removed
}

// updateRevisionLocked replaces the ended pods of a revision in use again
// and, if its pod template changed, all of its pods; it returns the pods
// to stop. r.mu is held.
func (r *Runtime) updateRevisionLocked(rev *revision, s *podSpec) (stop []*pod) {
	if slices.ContainsFunc(rev.pods, (*pod).ended) && r.reachable(rev.key) {
		// Containers of a retired revision that exited were not
		// restarted; in use again, the revision gets new pods.
		rev.pods = slices.DeleteFunc(rev.pods, func(p *pod) bool {
			if p.ended() {
				stop = append(stop, p)
				return true
			}
			return false
		})
		stop = append(stop, r.scaleLocked(rev)...)
	}
	if s.hash != rev.spec.hash {
		// A changed pod template replaces the pods, as a rollout
		// would: the old ones serve until a new one is ready.
		rev.retiring = append(rev.retiring, rev.pods...)
		rev.spec, rev.pods = s, nil
		r.scaleLocked(rev)
		if rev.want == 0 {
			stop = append(stop, rev.retiring...)
			rev.retiring = nil
		}
	}
	return stop
}

// addLocked starts the revisions of specs that are not running yet, with
// their initial replicas (none if unreachable), and returns them. r.mu is
// held.
func (r *Runtime) addLocked(specs map[scaler.RevisionKey]*podSpec) (added []scaler.RevisionKey) {
	for key, s := range specs {
		if _, ok := r.revisions[key]; ok {
			continue
		}
		if len(s.command) == 0 {
			// Resolve the image now, as a cluster pulls it when the
			// revision is created, so that a start from zero does not
			// wait for it. A failure here is retried at pod start.
			go s.program(r.ctx, r.opts.Builder, r.opts.Dir)
		}
		rev := &revision{key: key, spec: s, want: s.replicas}
		if !r.reachable(key) {
			rev.want = 0
		}
		r.revisions[key] = rev
		r.scaleLocked(rev)
		added = append(added, key)
	}
	return added
}

// setTableLocked records the merge of tables and reports whether it
// changed, and so is for OnTable; without OnTable nothing is recorded.
// r.mu is held.
func (r *Runtime) setTableLocked(tables []route.Table) bool {
	var table []byte
	if r.opts.OnTable != nil {
		table, _ = route.Encode(route.Merge(tables...))
	}
	changed := table != nil && string(table) != string(r.table)
	if changed {
		r.table = table
	}
	return changed
}

// reachable reports whether the revision is in use (Options.Reachable).
func (r *Runtime) reachable(key scaler.RevisionKey) bool {
	return r.opts.Reachable == nil || r.opts.Reachable(key)
}

// scaleLocked starts or stops pods until the revision has as many as it
// wants. Pods that are stopping are not counted. r.mu is held.
func (r *Runtime) scaleLocked(rev *revision) (stop []*pod) {
	for int32(len(rev.pods)) < rev.want {
		rev.seq++
		name := fmt.Sprintf("%s-%d", rev.key.Name, rev.seq)
		key := rev.key
		rev.pods = append(rev.pods, r.startPod(rev.spec, name, func() { r.publish(key) }))
	}
	if extra := len(rev.pods) - int(rev.want); extra > 0 {
		// Like a ReplicaSet: failed and unready pods go first, then the
		// newest.
		victims := slices.Clone(rev.pods)
		slices.SortStableFunc(victims, func(a, b *pod) int {
			return podRank(b) - podRank(a)
		})
		stop = victims[:extra]
		rev.pods = slices.DeleteFunc(rev.pods, func(p *pod) bool { return slices.Contains(stop, p) })
	}
	return stop
}

// podRank orders pods for scale-down: higher goes first.
func podRank(p *pod) int {
	switch {
	case p.Err() != nil || p.ended():
		return 2
	case !p.ready.Load():
		return 1
	}
	return 0
}

// publish recomputes the ready addresses of a revision for the activator
// and the gateway, and its condition; the watchers hear of a change in
// either.
func (r *Runtime) publish(key scaler.RevisionKey) {
	r.publishing.Lock()
	defer r.publishing.Unlock()
	r.mu.Lock()
	var addrs []string
	var retired []*pod
	notify := true
	if rev, ok := r.revisions[key]; ok {
		for _, p := range rev.pods {
			if p.ready.Load() {
				addrs = append(addrs, p.addr)
			}
		}
		if len(addrs) > 0 {
			retired, rev.retiring = rev.retiring, nil
			rev.everReady = true
		}
		for _, p := range rev.retiring {
			if p.ready.Load() {
				addrs = append(addrs, p.addr)
			}
		}
		ready := rev.readiness()
		notify, rev.ready = ready != rev.ready, ready
	}
	r.mu.Unlock()
	if len(retired) > 0 {
		go r.stopPods(retired)
	}
	slices.Sort(addrs)
	if notify || !slices.Equal(addrs, r.backends.Addresses(key.Namespace, key.Name)) {
		// Set tells the watchers, of the addresses and of the condition.
		r.backends.Set(key.Namespace, key.Name, addrs)
	}
}

// SetScale sets how many pods a revision runs.
func (r *Runtime) SetScale(_ context.Context, key scaler.RevisionKey, n int32) error {
	r.mu.Lock()
	rev, ok := r.revisions[key]
	if !ok || r.closed {
		r.mu.Unlock()
		return fmt.Errorf("revision %s is not running here", key)
	}
	if n < 0 {
		n = 0
	}
	rev.want = n
	stop := r.scaleLocked(rev)
	r.mu.Unlock()
	r.publish(key)
	r.stopPods(stop)
	return nil
}

// ReadyPods returns a revision's ready pods and its replica count.
func (r *Runtime) ReadyPods(_ context.Context, key scaler.RevisionKey) (int, int32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rev, ok := r.revisions[key]
	if !ok {
		return 0, 0, nil
	}
	ready := 0
	for _, p := range rev.pods {
		if p.ready.Load() {
			ready++
		}
	}
	return ready, rev.want, nil
}

// Pods lists a revision's ready pods with their stats addresses.
func (r *Runtime) Pods(_ context.Context, key scaler.RevisionKey) ([]scaler.Pod, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rev, ok := r.revisions[key]
	if !ok {
		return nil, nil
	}
	var out []scaler.Pod
	for _, p := range rev.pods {
		if p.ready.Load() {
			out = append(out, scaler.Pod{Name: p.name, Address: p.stats, StartTime: p.started})
		}
	}
	return out, nil
}

// Addresses returns the serving addresses of a revision's ready pods.
func (r *Runtime) Addresses(namespace, revision string) []string {
	return r.backends.Addresses(namespace, revision)
}

// Watch calls fn whenever a revision's ready pods or its Readiness
// change.
func (r *Runtime) Watch(fn func(namespace, revision string)) (stop func()) {
	return r.backends.Watch(fn)
}
