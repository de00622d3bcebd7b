package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// Applier is what a sync loop needs from the apply step. Consumers declare
// their own copy of it; this one documents the contract SSA keeps.
type Applier interface {
	// Apply makes the cluster hold objects for source and prunes what
	// source applied before and no longer renders; now is the time of the
	// pass (see Options.FullEvery).
	Apply(ctx context.Context, source string, objects []*unstructured.Unstructured, now time.Time) (ChangeSet, error)
	// Inventory returns what source has applied.
	Inventory(ctx context.Context, source string) (Inventory, error)
	// Delete prunes everything source applied and forgets the source.
	Delete(ctx context.Context, source string) (ChangeSet, error)
}

var _ Applier = (*SSA)(nil)

// Errors a ChangeSet's failures wrap, for errors.Is.
var (
	ErrInvalidObject       = errors.New("invalid object")
	ErrNamespaceRequired   = errors.New("namespaced kind without metadata.namespace")
	ErrNamespaceNotAllowed = errors.New("namespace not allowed")
	ErrClusterScoped       = errors.New("cluster-scoped kind not allowed")
	ErrCrossNamespaceRef   = errors.New("reference to another namespace not allowed")
	ErrConflict            = errors.New("fields owned by another manager")
)

// Options configure an SSA.
type Options struct {
	// FieldManager defaults to FieldManager ("ebb").
	FieldManager string
	// InventoryNamespace holds the inventory ConfigMaps; default
	// "ebb-system", created when first needed.
	InventoryNamespace string
	// Namespaces, when not empty, are the only namespaces objects may be
	// applied in (and the only Namespace objects that may be applied);
	// AnyNamespace ("*") allows every one. When empty, every namespace but
	// ProtectedNamespaces and InventoryNamespace is allowed.
	Namespaces []string
	// ClusterKinds are the cluster-scoped kinds, besides Namespace, that
	// may be applied; any other cluster-scoped kind is refused.
	ClusterKinds []schema.GroupKind
	// NoCrossNamespaceRefs refuses an object that refers to an object in
	// another namespace (see CrossNamespaceRefs), unless that object is
	// one of SharedRefs.
	NoCrossNamespaceRefs bool
	// SharedRefs ("namespace/name") are the objects of other namespaces
	// any object may refer to even with NoCrossNamespaceRefs: the
	// gateways and gateway Services ebb's routes attach to.
	SharedRefs []string
	// ServiceAccount, when set, is who objects are read, applied and
	// pruned as (impersonated, see ServiceAccount); the inventory is still
	// read and written as the SSA's own identity. Only an SSA made by New
	// can impersonate.
	ServiceAccount ServiceAccount
	// Workers is how many objects of one stage are applied at once;
	// default 4. The client's rate limit still bounds the request rate.
	Workers int
	// EstablishTimeout bounds the wait for newly applied
	// CustomResourceDefinitions to be served; default 30s.
	EstablishTimeout time.Duration
	// FullEvery is how often an Apply compares every object with its live
	// copy (a full pass) instead of only the objects whose intent changed
	// since the last Apply (see SSA.Apply); default 10 minutes, negative
	// for a full pass every time. It is measured between the times the
	// caller gives its passes.
	FullEvery time.Duration
}

// SSA applies objects with server-side apply and prunes with an inventory
// per source. It is safe for use by one sync loop at a time per source.
type SSA struct {
	own          clients // the inventory's, and the objects' unless impersonating
	ids          *identities
	mapper       meta.ResettableRESTMapper
	opts         Options
	namespaces   namespacePolicy
	clusterKinds map[schema.GroupKind]bool
	shared       map[string]bool

	mu    sync.Mutex
	memos map[string]*memo // by source
}

// New returns an SSA talking to the cluster of cfg.
func New(cfg *rest.Config, o Options) (*SSA, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	mapper, err := NewMapper(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	s := NewWith(dyn, meta, mapper, o)
	s.ids = newIdentities(cfg)
	return s, nil
}

// NewWith returns an SSA using the given clients: dyn for objects, md for
// what only their metadata is read of. It cannot impersonate: with
// Options.ServiceAccount set, every object fails.
func NewWith(dyn dynamic.Interface, md metadata.Interface, mapper meta.ResettableRESTMapper, o Options) *SSA {
	if o.FieldManager == "" {
		o.FieldManager = FieldManager
	}
	if o.InventoryNamespace == "" {
		o.InventoryNamespace = "ebb-system"
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.EstablishTimeout == 0 {
		o.EstablishTimeout = 30 * time.Second
	}
	if o.FullEvery == 0 {
		o.FullEvery = 10 * time.Minute
	}
	s := &SSA{own: clients{dyn: dyn, meta: md}, ids: newIdentities(nil), mapper: mapper, opts: o, namespaces: newNamespaces(o),
		clusterKinds: map[schema.GroupKind]bool{}, shared: map[string]bool{}, memos: map[string]*memo{}}
	for _, gk := range o.ClusterKinds {
		s.clusterKinds[gk] = true
	}
	for _, r := range o.SharedRefs {
		s.shared[r] = true
	}
	return s
}
