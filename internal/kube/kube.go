package kube

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// Clients are REST clients of the API groups ebb reads and writes. They
// share one HTTP client and, as client-go's clientset does, one rate
// limiter made from the config's QPS and burst.
type Clients struct {
	Core         rest.Interface // v1: ConfigMaps, Events
	Apps         rest.Interface // apps/v1: Deployments and their scale
	Discovery    rest.Interface // discovery.k8s.io/v1: EndpointSlices
	Coordination rest.Interface // coordination.k8s.io/v1: Leases
	// authentication.k8s.io/v1 and authorization.k8s.io/v1: who calls
	// ebb's admin endpoints, and what they may do (review.go)
	Authentication rest.Interface
	Authorization  rest.Interface
}

// Scheme returns a scheme of the types the Clients read and write, with
// the list, get, watch and write options of each group.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	add := func(gv schema.GroupVersion, types ...runtime.Object) {
		s.AddKnownTypes(gv, types...)
		metav1.AddToGroupVersion(s, gv)
	}
	add(corev1.SchemeGroupVersion, &corev1.ConfigMap{}, &corev1.ConfigMapList{}, &corev1.Event{}, &corev1.EventList{}, &corev1.Pod{}, &corev1.PodList{})
	add(appsv1.SchemeGroupVersion, &appsv1.Deployment{}, &appsv1.DeploymentList{})
	add(discoveryv1.SchemeGroupVersion, &discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{})
	add(coordinationv1.SchemeGroupVersion, &coordinationv1.Lease{}, &coordinationv1.LeaseList{})
	add(authnv1.SchemeGroupVersion, &authnv1.TokenReview{})
	add(authzv1.SchemeGroupVersion, &authzv1.SubjectAccessReview{})
	return s
}

// Protobuf is the wire format of requests and answers unless the config
// names one, as client-go's typed clients default to it for built-in
// types; JSON is accepted too.
const (
	Protobuf       = "application/vnd.kubernetes.protobuf"
	protobufOrJSON = Protobuf + ",application/json"
)

// New returns the Clients of cfg.
func New(cfg *rest.Config) (*Clients, error) {
	c := *cfg
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	hc, err := rest.HTTPClientFor(&c)
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	if c.RateLimiter == nil && c.QPS > 0 {
		if c.Burst <= 0 {
			return nil, fmt.Errorf("kube: burst must be positive when QPS is set")
		}
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(c.QPS, c.Burst)
	}
	if c.ContentType == "" && c.AcceptContentTypes == "" {
		c.ContentType, c.AcceptContentTypes = Protobuf, protobufOrJSON
	}
	c.NegotiatedSerializer = serializer.NewCodecFactory(Scheme()).WithoutConversion()
	client := func(gv schema.GroupVersion) (rest.Interface, error) {
		gc := c
		gc.GroupVersion = &gv
		gc.APIPath = "/apis"
		if gv.Group == "" {
			gc.APIPath = "/api"
		}
		rc, err := rest.RESTClientForConfigAndClient(&gc, hc)
		if err != nil {
			return nil, fmt.Errorf("kube: %s: %w", gv, err)
		}
		return rc, nil
	}
	var out Clients
	for _, x := range []struct {
		c  *rest.Interface
		gv schema.GroupVersion
	}{
		{&out.Core, corev1.SchemeGroupVersion},
		{&out.Apps, appsv1.SchemeGroupVersion},
		{&out.Discovery, discoveryv1.SchemeGroupVersion},
		{&out.Coordination, coordinationv1.SchemeGroupVersion},
		{&out.Authentication, authnv1.SchemeGroupVersion},
		{&out.Authorization, authzv1.SchemeGroupVersion},
	} {
		if *x.c, err = client(x.gv); err != nil {
			return nil, err
		}
	}
	return &out, nil
}

// RESTClient returns a client of the API server, Core, for what needs
// only one (and gives it absolute paths), as client-go's clientsets offer
// theirs.
func (c *Clients) RESTClient() rest.Interface { return c.Core }

// LoadConfig returns the API's client configuration: from the kubeconfig
// file at path when one is given; else in-cluster, then $KUBECONFIG and
// ~/.kube/config.
func LoadConfig(path string) (*rest.Config, error) {
	if path == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
}
