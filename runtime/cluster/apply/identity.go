package apply

import (
	"fmt"
	"strings"
	gosync "sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// ServiceAccount is who a source's objects are read, applied and pruned
// as, through impersonation (Flux's Kustomization serviceAccountName): the
// apiserver's RBAC then decides what the source may write, not the
// controller's own rights.
type ServiceAccount struct {
	// Namespace is the ServiceAccount's namespace. Empty: the
	// ServiceAccount of that name in each object's own namespace; for a
	// Namespace object, in that namespace; for another cluster-scoped
	// object, in ebb's namespace.
	Namespace string
	Name      string
}

// ParseServiceAccount reads "namespace/name" or "name" (see
// ServiceAccount); "" is no ServiceAccount.
func ParseServiceAccount(s string) (ServiceAccount, error) {
	if s == "" {
		return ServiceAccount{}, nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = "", s
	}
	if ok {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return ServiceAccount{}, fmt.Errorf("service account %q: namespace: %s", s, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return ServiceAccount{}, fmt.Errorf("service account %q: name: %s", s, strings.Join(errs, "; "))
	}
	return ServiceAccount{Namespace: ns, Name: name}, nil
}

// IsZero reports whether sa names no ServiceAccount.
func (sa ServiceAccount) IsZero() bool { return sa.Name == "" }

// String is "namespace/name", or "name" for the per-namespace form.
func (sa ServiceAccount) String() string {
	if sa.Namespace == "" {
		return sa.Name
	}
	return sa.Namespace + "/" + sa.Name
}

// For returns the ServiceAccount object r is applied as; home is ebb's own
// namespace.
func (sa ServiceAccount) For(r Ref, home string) ServiceAccount {
	switch {
	case sa.Namespace != "":
		return sa
	case r.Namespace != "":
		return ServiceAccount{Namespace: r.Namespace, Name: sa.Name}
	case r.Group == "" && r.Kind == "Namespace" && r.Name != "":
		return ServiceAccount{Namespace: r.Name, Name: sa.Name}
	}
	return ServiceAccount{Namespace: home, Name: sa.Name}
}

// UserName is the user name the apiserver gives the ServiceAccount.
func (sa ServiceAccount) UserName() string {
	return "system:serviceaccount:" + sa.Namespace + ":" + sa.Name
}

// clients read and write objects as one identity.
type clients struct {
	dyn  dynamic.Interface
	meta metadata.Interface
	// as is the ServiceAccount impersonated; zero for the SSA's own
	// identity.
	as ServiceAccount
}

// identities makes and keeps the clients of the ServiceAccounts an SSA
// impersonates, one set per ServiceAccount, sharing the rate limit of the
// SSA's own clients.
type identities struct {
	cfg *rest.Config // nil: the SSA cannot impersonate

	mu   gosync.Mutex
	bySA map[ServiceAccount]clients
}

func newIdentities(cfg *rest.Config) *identities {
	if cfg == nil {
		return &identities{}
	}
	c := rest.CopyConfig(cfg)
	if c.RateLimiter == nil && c.QPS > 0 && c.Burst > 0 {
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	return &identities{cfg: c, bySA: map[ServiceAccount]clients{}}
}

func (ids *identities) get(sa ServiceAccount) (clients, error) {
	if ids.cfg == nil {
		return clients{}, fmt.Errorf("impersonate ServiceAccount %s: the SSA was made without a REST config (use apply.New)", sa)
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if c, ok := ids.bySA[sa]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(ids.cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: sa.UserName()}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("impersonate ServiceAccount %s: %w", sa, err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return clients{}, fmt.Errorf("impersonate ServiceAccount %s: %w", sa, err)
	}
	c := clients{dyn: dyn, meta: md, as: sa}
	ids.bySA[sa] = c
	return c, nil
}

// clientsFor returns the clients object r (or, without a name, the
// objects of its kind and namespace) is read and written with: the SSA's
// own, or those of the ServiceAccount it impersonates for it.
func (s *SSA) clientsFor(r Ref) (clients, error) {
	if s.opts.ServiceAccount.IsZero() {
		return s.own, nil
	}
	return s.ids.get(s.opts.ServiceAccount.For(r, s.opts.InventoryNamespace))
}

// denied names the impersonated ServiceAccount in an error the apiserver
// answered Forbidden: what verb it may not do to which resource, where.
func denied(err error, as ServiceAccount, verb string, gr schema.GroupResource, ns string) error {
	if as.IsZero() || !apierrors.IsForbidden(err) {
		return err
	}
	where := "cluster-wide"
	if ns != "" {
		where = "in namespace " + ns
	}
	return fmt.Errorf("ServiceAccount %s cannot %s %s %s: %w", as, verb, gr, where, err)
}
