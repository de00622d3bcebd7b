package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	gosync "sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/render"
)

// Claims keeps one source's host claims (route.Claim): ConfigMaps in
// ebb's namespace, written with the controller's own client, never with
// an identity of the source. Sync creates a claim for every exposed host
// the state serves that no claim or cluster-local name decides
// (render.HostOwners: first come; create never overwrites, and a create
// that loses the race to another source is a refusal), and, when asked,
// first deletes the source's claims the state no longer uses.
type Claims struct {
	k         *kube.Clients
	namespace string
	source    string
	log       *slog.Logger
	// Workers bounds the writes in flight (default 4).
	Workers int

	mu   gosync.Mutex
	last []claimObject // as the last Sync left them
}

// claimObject is a claim as read from the API: with what a delete needs
// to be sure it deletes that claim and no later one.
type claimObject struct {
	route.Claim
	uid             types.UID
	resourceVersion string
}

// NewClaims returns the claims of source, kept in namespace.
func NewClaims(k *kube.Clients, namespace, source string, log *slog.Logger) *Claims {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Claims{k: k, namespace: namespace, source: source, log: log, Workers: 4}
}

// Sync reads the claims, deletes the source's claims that uses no longer
// need when release is set, creates those uses need, and returns the uses
// refused: of hosts another namespace owns.
func (c *Claims) Sync(ctx context.Context, uses []render.HostUse, release bool) ([]render.HostRefusal, error) {
	existing, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	if release {
		stale := staleClaims(existing, uses, c.source)
		gone := c.each(ctx, len(stale), func(ctx context.Context, i int) error { return c.delete(ctx, stale[i]) }, &errs)
		existing = slices.DeleteFunc(existing, func(o claimObject) bool {
			i := slices.IndexFunc(stale, func(s claimObject) bool { return s.uid == o.uid })
			return i >= 0 && gone[i]
		})
	}
	want, refused := render.HostOwners(uses, ownerOf(existing))
	made := make([]claimObject, len(want))
	ok := c.each(ctx, len(want), func(ctx context.Context, i int) error {
		u := want[i]
		o, err := c.create(ctx, route.Claim{Host: u.Host, Namespace: u.Namespace, Source: c.source, Kind: u.Kind, Name: u.Name})
		made[i] = o
		return err
	}, &errs)
	raced := false
	for i, o := range made {
		if ok[i] {
			existing = append(existing, o)
			raced = raced || o.Namespace != want[i].Namespace
		}
	}
	if raced {
		_, refused = render.HostOwners(uses, ownerOf(existing))
	}
	c.mu.Lock()
	c.last = existing
	c.mu.Unlock()
	return refused, errors.Join(errs...)
}

// Releasable reports whether the claims as the last Sync left them hold
// any of the source's that uses no longer need.
func (c *Claims) Releasable(uses []render.HostUse) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(staleClaims(c.last, uses, c.source)) > 0
}

// staleClaims are the claims of source that no use of their namespace
// needs any more: none of its uses serves the host, or the host is
// decided without the claim (a cluster-local name).
func staleClaims(existing []claimObject, uses []render.HostUse, source string) []claimObject {
	_, refused := render.HostOwners(uses, ownerOf(existing))
	needs := map[[2]string]bool{}
	for _, u := range uses {
		k := [2]string{u.Host, u.Namespace}
		needs[k] = needs[k] || !u.Local
	}
	for _, r := range refused {
		delete(needs, [2]string{r.Host, r.Namespace})
	}
	var out []claimObject
	for _, o := range existing {
		if _, local := route.LocalNamespace(o.Host); o.Source == source && (local || !needs[[2]string{o.Host, o.Namespace}]) {
			out = append(out, o)
		}
	}
	return out
}

// ownerOf answers HostOwners from claims.
func ownerOf(claims []claimObject) func(string) (string, bool) {
	m := make(map[string]string, len(claims))
	for _, o := range claims {
		m[o.Host] = o.Namespace
	}
	return func(h string) (string, bool) { ns, ok := m[h]; return ns, ok }
}

// each runs f for 0..n-1, Workers at a time, and reports which succeeded;
// failures are added to errs.
func (c *Claims) each(ctx context.Context, n int, f func(context.Context, int) error, errs *[]error) []bool {
	ok := make([]bool, n)
	fails := make([]error, n)
	sem := make(chan struct{}, max(c.Workers, 1))
	var wg gosync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fails[i] = f(ctx, i)
			ok[i] = fails[i] == nil
		})
	}
	wg.Wait()
	for _, err := range fails {
		if err != nil {
			*errs = append(*errs, err)
		}
	}
	return ok
}

// list reads every claim, a page at a time.
func (c *Claims) list(ctx context.Context) ([]claimObject, error) {
	var out []claimObject
	opts := metav1.ListOptions{LabelSelector: route.ClaimLabelKey + "=" + route.ClaimLabelValue, Limit: 500}
	for {
		var l corev1.ConfigMapList
		err := c.k.Core.Get().Namespace(c.namespace).Resource("configmaps").
			VersionedParams(&opts, metav1.ParameterCodec).Do(ctx).Into(&l)
		if err != nil {
			return nil, fmt.Errorf("list host claims in %s: %w", c.namespace, err)
		}
		for i := range l.Items {
			cm := &l.Items[i]
			cl, err := route.ParseClaim(cm.Data)
			if err != nil {
				c.log.Warn("host claim skipped", "configmap", c.namespace+"/"+cm.Name, "error", err)
				continue
			}
			out = append(out, claimObject{Claim: cl, uid: cm.UID, resourceVersion: cm.ResourceVersion})
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

// create creates a claim, or reads the one that is there already: the
// first create wins.
func (c *Claims) create(ctx context.Context, cl route.Claim) (claimObject, error) {
	name := route.ClaimObjectName(cl.Host)
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.namespace,
			Labels: map[string]string{route.ClaimLabelKey: route.ClaimLabelValue}},
		Data: cl.Data(),
	}
	var got corev1.ConfigMap
	err := c.k.Core.Post().Namespace(c.namespace).Resource("configmaps").Body(cm).Do(ctx).Into(&got)
	if apierrors.IsAlreadyExists(err) {
		err = c.k.Core.Get().Namespace(c.namespace).Resource("configmaps").Name(name).Do(ctx).Into(&got)
	}
	if err != nil {
		return claimObject{}, fmt.Errorf("claim host %s for namespace %s: %w", cl.Host, cl.Namespace, err)
	}
	have, err := route.ParseClaim(got.Data)
	if err != nil || have.Host != cl.Host {
		return claimObject{}, fmt.Errorf("claim host %s: ConfigMap %s/%s holds another claim", cl.Host, c.namespace, name)
	}
	if have != cl {
		c.log.Info("host already claimed", "host", cl.Host, "namespace", have.Namespace, "source", have.Source)
	} else {
		c.log.Info("host claimed", "host", cl.Host, "namespace", cl.Namespace, "by", cl.Kind+" "+cl.Name)
	}
	return claimObject{Claim: have, uid: got.UID, resourceVersion: got.ResourceVersion}, nil
}

// delete deletes a claim as it was read: a claim that changed or was
// made again since is left alone.
func (c *Claims) delete(ctx context.Context, o claimObject) error {
	err := c.k.Core.Delete().Namespace(c.namespace).Resource("configmaps").Name(route.ClaimObjectName(o.Host)).
		Body(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &o.uid, ResourceVersion: &o.resourceVersion}}).
		Do(ctx).Error()
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release host %s of namespace %s: %w", o.Host, o.Namespace, err)
	}
	c.log.Info("host released", "host", o.Host, "namespace", o.Namespace)
	return nil
}
