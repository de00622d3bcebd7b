package cluster

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"slices"
	"strconv"
	gosync "sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/ebb-dev/ebb/internal/kube"
	proxykube "github.com/ebb-dev/ebb/proxy/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving/names"
)

// AutoscalerManager is the field manager of the autoscaler's writes: the
// scale subresource and the public Services' EndpointSlices.
const AutoscalerManager = "ebb-autoscaler"

// Runtime is the autoscaler's view of a cluster: it reads a revision's
// ready pods from its private Service's EndpointSlices and its replicas
// from its Deployment, scales the Deployment through the scale
// subresource, and switches the public Service's EndpointSlice between
// the activators (proxy mode) and the revision's pods (serve mode).
//
// In serve mode the public EndpointSlice follows the private one as pods
// come and go, and in proxy mode it follows the activators; Run keeps them
// in step.
type Runtime struct {
	k          *kube.Clients
	endpoints  *proxykube.Endpoints
	deploys    cache.SharedIndexInformer
	pods       cache.SharedIndexInformer
	activators proxykube.ServiceRef
	onReady    func(scaler.RevisionKey)
	prompt     func(scaler.RevisionKey)
	log        *slog.Logger

	writeMu gosync.Mutex // serializes public EndpointSlice writes
	written map[scaler.RevisionKey]proxykube.PublicSlice
	// versions are the resourceVersions of the public EndpointSlices this
	// process wrote last (a few per revision): an event with any other
	// version is someone else's change, to be checked and undone.
	versions map[scaler.RevisionKey][]string

	mu    gosync.Mutex
	modes map[scaler.RevisionKey]modeWanted
	kicks chan scaler.RevisionKey
	// everReady holds the revisions seen ready since the Runtime started.
	everReady map[scaler.RevisionKey]bool
}

type modeWanted struct {
	mode       route.Mode
	activators int32
}

// RuntimeOptions configure a Runtime.
type RuntimeOptions struct {
	// Endpoints is the EndpointSlice index; the caller runs it.
	Endpoints *proxykube.Endpoints
	// Activators is the Service whose ready pods are the activators
	// (ebb-system/ebb-gateway in an installation).
	Activators proxykube.ServiceRef
	Logger     *slog.Logger
	// OnReady, if set, is called (on an informer's goroutine) when a
	// revision is first seen ready: planning may record it as the latest
	// ready one.
	OnReady func(scaler.RevisionKey)
	// Prompt, if set, is called (on an informer's goroutine) when a
	// revision's pod is ready before the autoscaler has set its mode:
	// scaler.Autoscaler.Prompt, so that the public EndpointSlice its
	// readiness waits for is written without waiting for a tick.
	Prompt func(scaler.RevisionKey)
}

// Compile-time checks that Runtime is what the autoscaler needs.
var (
	_ scaler.Scaler     = (*Runtime)(nil)
	_ scaler.PodLister  = (*Runtime)(nil)
	_ scaler.ModeSetter = (*Runtime)(nil)
)

// NewRuntime returns a Runtime; Watch follows the Deployments and pods,
// and Run keeps public EndpointSlices in step.
func NewRuntime(k *kube.Clients, o RuntimeOptions) *Runtime {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	deploys := kube.Informer(k.Apps, "deployments", "", &appsv1.Deployment{},
		func(lo *metav1.ListOptions) { lo.LabelSelector = route.RevisionLabel })
	// Only the replicas and how the pods fare are read: keep nothing else
	// of the Deployments.
	_ = deploys.SetTransform(func(obj any) (any, error) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return obj, nil
		}
		slim := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace, UID: d.UID, ResourceVersion: d.ResourceVersion,
				Labels: map[string]string{route.RevisionLabel: d.Labels[route.RevisionLabel]}},
			Spec:   appsv1.DeploymentSpec{Replicas: d.Spec.Replicas},
			Status: appsv1.DeploymentStatus{ReadyReplicas: d.Status.ReadyReplicas, AvailableReplicas: d.Status.AvailableReplicas},
		}
		for _, c := range d.Status.Conditions {
			if c.Status != corev1.ConditionTrue || c.Type == appsv1.DeploymentReplicaFailure {
				slim.Status.Conditions = append(slim.Status.Conditions, appsv1.DeploymentCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
			}
		}
		return slim, nil
	})
	r := &Runtime{k: k, endpoints: o.Endpoints, deploys: deploys, pods: newPods(k),
		activators: o.Activators, log: log, onReady: o.OnReady, prompt: o.Prompt, modes: map[scaler.RevisionKey]modeWanted{},
		written:   map[scaler.RevisionKey]proxykube.PublicSlice{},
		versions:  map[scaler.RevisionKey][]string{},
		everReady: map[scaler.RevisionKey]bool{},
		kicks:     make(chan scaler.RevisionKey, 1024)}
	// A public EndpointSlice written may make its revision ready, and one
	// edited by someone else is put back.
	o.Endpoints.WatchSlices(func(s *discoveryv1.EndpointSlice, deleted bool) {
		r.publicChanged(s, deleted)
		r.checkPublic(s, deleted)
	})
	_, _ = deploys.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.deploymentChanged(obj) },
		UpdateFunc: func(_, obj any) { r.deploymentChanged(obj) },
	})
	// A pod's exit or waiting reason may change why its revision fails.
	_, _ = r.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*corev1.Pod); ok {
				r.kick(scaler.RevisionKey{Namespace: p.Namespace, Name: p.Labels[route.RevisionLabel]})
			}
		},
	})
	return r
}

// Watch follows the revisions' Deployments and pods until ctx ends. It
// runs once for the Runtime's life (an informer runs once), whether or not
// the process leads, as the Endpoints index does.
func (r *Runtime) Watch(ctx context.Context) {
	var wg gosync.WaitGroup
	wg.Go(func() { r.deploys.RunWithContext(ctx) })
	wg.Go(func() { r.pods.RunWithContext(ctx) })
	wg.Wait()
}

// Run keeps each public EndpointSlice in step with the pods or activators
// behind it, until ctx ends; Watch must be running. A leader runs it for
// each term (after Reset).
func (r *Runtime) Run(ctx context.Context) {
	stop := r.endpoints.WatchServices(func(ns, svc, rev string) {
		if ns == r.activators.Namespace && svc == r.activators.Name {
			r.kickAll(route.Proxy)
			return
		}
		// A revision's pods changed: the slices of its private Service.
		if proxykube.IsPrivate(svc, rev) {
			key := scaler.RevisionKey{Namespace: ns, Name: rev}
			r.kick(key)
			r.noteReady(key)
		}
	})
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-r.kicks:
			if err := r.write(ctx, key); err != nil {
				r.log.Error("update public endpoints", "revision", key.String(), "error", err)
			}
		}
	}
}

// WaitForSync waits for the first lists of the Deployments, pods and
// EndpointSlices (see Watch).
func (r *Runtime) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), r.deploys.HasSynced, r.pods.HasSynced, r.endpoints.HasSynced)
}

func (r *Runtime) kick(key scaler.RevisionKey) {
	r.mu.Lock()
	_, ok := r.modes[key]
	r.mu.Unlock()
	if !ok {
		return
	}
	select {
	case r.kicks <- key:
	default:
		// The queue is full: a burst is being worked through, and the
		// next SetMode or change of this revision's slice comes back here.
	}
}

func (r *Runtime) kickAll(m route.Mode) {
	r.mu.Lock()
	var keys []scaler.RevisionKey
	for k, w := range r.modes {
		if w.mode == m {
			keys = append(keys, k)
		}
	}
	r.mu.Unlock()
	for _, k := range keys {
		r.kick(k)
	}
}

// deploymentChanged notes a revision whose Deployment has a ready pod,
// and checks its public EndpointSlice (a Deployment past its deadline
// fails the revision).
func (r *Runtime) deploymentChanged(obj any) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return
	}
	rev := d.Labels[route.RevisionLabel]
	if rev == "" {
		return
	}
	key := scaler.RevisionKey{Namespace: d.Namespace, Name: rev}
	if d.Status.ReadyReplicas > 0 {
		r.noteReady(key)
	}
	r.kick(key)
}

// deployment reads a revision's Deployment from the informer, by the name
// the renderer gives it.
func (r *Runtime) deployment(namespace, revision string) (*appsv1.Deployment, bool) {
	obj, ok, _ := r.deploys.GetIndexer().GetByKey(namespace + "/" + names.Deployment(revision))
	if !ok {
		return nil, false
	}
	return obj.(*appsv1.Deployment), true
}

// ReadyPods counts the ready endpoints of the revision's private Service
// and reads the Deployment's replicas from the informer.
func (r *Runtime) ReadyPods(_ context.Context, rev scaler.RevisionKey) (int, int32, error) {
	ready := len(r.endpoints.Private(rev.Namespace, rev.Name))
	d, ok := r.deployment(rev.Namespace, rev.Name)
	if !ok {
		return ready, 0, nil
	}
	if d.Spec.Replicas == nil {
		return ready, 1, nil
	}
	return ready, *d.Spec.Replicas, nil
}

// SetScale sets the Deployment's replicas through the scale subresource.
// It writes nothing when the Deployment already asks for n.
func (r *Runtime) SetScale(ctx context.Context, rev scaler.RevisionKey, n int32) error {
	if d, ok := r.deployment(rev.Namespace, rev.Name); ok && d.Spec.Replicas != nil && *d.Spec.Replicas == n {
		return nil
	}
	patch := []byte(`{"spec":{"replicas":` + strconv.Itoa(int(n)) + `}}`)
	err := r.k.Apps.Patch(types.MergePatchType).Namespace(rev.Namespace).Resource("deployments").
		Name(names.Deployment(rev.Name)).SubResource("scale").
		VersionedParams(&metav1.PatchOptions{FieldManager: AutoscalerManager}, metav1.ParameterCodec).
		Body(patch).Do(ctx).Error()
	if err != nil {
		return fmt.Errorf("scale Deployment %s/%s to %d: %w", rev.Namespace, names.Deployment(rev.Name), n, err)
	}
	return nil
}

// Pods lists the revision's ready pods with their stats address,
// podIP:9090.
func (r *Runtime) Pods(_ context.Context, rev scaler.RevisionKey) ([]scaler.Pod, error) {
	ready := r.endpoints.Private(rev.Namespace, rev.Name)
	out := make([]scaler.Pod, len(ready))
	for i, ep := range ready {
		out[i] = scaler.Pod{Name: cmp.Or(ep.Pod, ep.IP), Address: net.JoinHostPort(ep.IP, strconv.Itoa(proxykube.StatsPort))}
	}
	return out, nil
}

// SetMode points the revision's public Service at activators activators
// (proxy) or at its ready pods (serve). As Knative does, a revision
// without ready pods is proxied, and one without activators is served.
func (r *Runtime) SetMode(ctx context.Context, rev scaler.RevisionKey, mode route.Mode, activators int32) error {
	r.mu.Lock()
	r.modes[rev] = modeWanted{mode: mode, activators: activators}
	r.mu.Unlock()
	return r.write(ctx, rev)
}

// Reset forgets the mode wanted and the slice written of every revision:
// another process may have led since, so a new term starts from the
// cluster's copies and sets each mode anew.
func (r *Runtime) Reset() {
	r.mu.Lock()
	clear(r.modes)
	r.mu.Unlock()
	r.writeMu.Lock()
	clear(r.written)
	clear(r.versions)
	r.writeMu.Unlock()
}

// Forget stops following a revision's public EndpointSlice.
func (r *Runtime) Forget(rev scaler.RevisionKey) {
	r.mu.Lock()
	delete(r.modes, rev)
	r.mu.Unlock()
	r.writeMu.Lock()
	delete(r.written, rev)
	delete(r.versions, rev)
	r.writeMu.Unlock()
}

// Public decides the public EndpointSlice of a revision from the ready
// pods and activators: pure, so that the rule is tested on its own.
func Public(rev string, mode route.Mode, activators int32, pods, acts []proxykube.Endpoint) proxykube.PublicSlice {
	if mode == route.Serve && len(pods) == 0 && len(acts) > 0 {
		mode = route.Proxy
	}
	if mode == route.Proxy && len(acts) == 0 {
		mode = route.Serve
	}
	if mode == route.Serve {
		out := proxykube.PublicSlice{Mode: route.Serve}
		for _, p := range pods {
			out.Addresses = append(out.Addresses, p.IP)
		}
		return out
	}
	return proxykube.PublicSlice{Mode: route.Proxy, Addresses: subset(rev, acts, int(activators))}
}

// subset picks n activators for a revision by rendezvous hashing on its
// name, so that each revision keeps its activators as others come and go.
func subset(rev string, acts []proxykube.Endpoint, n int) []string {
	if n <= 0 || n >= len(acts) {
		out := make([]string, len(acts))
		for i, a := range acts {
			out[i] = a.IP
		}
		return out
	}
	type scored struct {
		ip    string
		score uint64
	}
	s := make([]scored, len(acts))
	for i, a := range acts {
		h := fnv.New64a()
		h.Write([]byte(rev))
		h.Write([]byte{0})
		h.Write([]byte(a.IP))
		s[i] = scored{a.IP, h.Sum64()}
	}
	slices.SortFunc(s, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	out := make([]string, n)
	for i := range out {
		out[i] = s[i].ip
	}
	slices.Sort(out)
	return out
}

// keepVersions is how many of its own writes per revision the Runtime
// recognizes in the informer's events.
const keepVersions = 4

// checkPublic looks at an event for a revision's public EndpointSlice: a
// version this process did not write (an outside edit, a delete) makes the
// next write compare with the cluster's copy instead of its own memory, so
// the slice is put back.
func (r *Runtime) checkPublic(s *discoveryv1.EndpointSlice, deleted bool) {
	key := scaler.RevisionKey{Namespace: s.Namespace, Name: s.Name}
	r.mu.Lock()
	_, known := r.modes[key]
	r.mu.Unlock()
	if !known {
		return
	}
	r.writeMu.Lock()
	ours := !deleted && slices.Contains(r.versions[key], s.ResourceVersion)
	if !ours {
		delete(r.written, key)
		delete(r.versions, key)
	}
	r.writeMu.Unlock()
	if !ours {
		r.kick(key)
	}
}

// write applies the public EndpointSlice the revision's wanted mode and
// the current pods and activators make, when it differs from the live
// one. Writes are serialized and read the wanted mode when they run, so a
// late write never puts back an older mode.
func (r *Runtime) write(ctx context.Context, rev scaler.RevisionKey) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.mu.Lock()
	w, ok := r.modes[rev]
	r.mu.Unlock()
	if !ok {
		return nil
	}
	pods := r.endpoints.Private(rev.Namespace, rev.Name)
	acts := r.endpoints.Ready(r.activators.Namespace, r.activators.Name)
	want := Public(rev.Name, w.mode, w.activators, pods, acts)
	if f, failed := r.Failure(rev.Namespace, rev.Name); failed && len(pods) == 0 {
		want.Failure = f.String()
	}
	// What this process wrote last is newer than the informer's copy.
	live, ok := r.written[rev]
	if !ok {
		live, ok = r.livePublic(rev)
	}
	if ok && live.Mode == want.Mode && slices.Equal(live.Addresses, want.Addresses) && live.Failure == want.Failure {
		return nil
	}
	res, err := ApplySlice(ctx, r.k, publicSlice(rev, want), AutoscalerManager)
	if apierrors.IsNotFound(err) {
		return nil // the namespace is gone with the revision
	}
	if err != nil {
		delete(r.written, rev)
		return err
	}
	r.written[rev] = want
	vs := append(r.versions[rev], res.ResourceVersion)
	r.versions[rev] = vs[max(0, len(vs)-keepVersions):]
	r.log.Info("public endpoints", "revision", rev.String(), "mode", want.Mode, "addresses", len(want.Addresses))
	return nil
}

// livePublic reads the public EndpointSlice ebb wrote, from the index.
func (r *Runtime) livePublic(rev scaler.RevisionKey) (proxykube.PublicSlice, bool) {
	return r.endpoints.Public(rev.Namespace, rev.Name)
}

// publicSlice is the EndpointSlice of a revision's public Service: named
// like the Service, labelled with its name, the manager and the mode, with
// the serving port (and, in serve mode, the TLS port) named as the
// Service's ports are.
func publicSlice(rev scaler.RevisionKey, p proxykube.PublicSlice) Slice {
	svc := names.PublicService(rev.Name)
	s := Slice{Namespace: rev.Namespace, Name: svc,
		Labels: map[string]string{
			discoveryv1.LabelServiceName: svc,
			discoveryv1.LabelManagedBy:   proxykube.ManagedBy,
			proxykube.ModeLabel:          p.Mode.String(),
			route.RevisionLabel:          rev.Name,
		},
		Ports:     []SlicePort{{Name: "http", Port: proxykube.ServingPort}},
		Addresses: p.Addresses,
	}
	if p.Mode == route.Serve {
		s.Ports = append(s.Ports, SlicePort{Name: "https", Port: proxykube.TLSPort})
	}
	if p.Failure != "" {
		s.Annotations = map[string]string{proxykube.FailureAnnotation: p.Failure}
	}
	return s
}
