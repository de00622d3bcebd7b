package render

import (
	"maps"
	"strings"

	"github.com/ebb-dev/ebb/proxy/route"
)

// Label and annotation keys ebb writes, with Knative's names. The
// revision label is route.RevisionLabel, which the gateway reads too.
const (
	LabelService                 = "serving.knative.dev/service"
	LabelConfiguration           = "serving.knative.dev/configuration"
	LabelConfigurationGeneration = "serving.knative.dev/configurationGeneration"
	LabelRevisionUID             = "serving.knative.dev/revisionUID"
	LabelRoute                   = "serving.knative.dev/route"
	LabelRouteNamespace          = "serving.knative.dev/routeNamespace"
	LabelRoutingState            = "serving.knative.dev/routingState"
	LabelDomainMapping           = "serving.knative.dev/domainMapping"
	LabelDomainMappingNamespace  = "serving.knative.dev/domainMappingNamespace"
	LabelServerlessService       = "networking.internal.knative.dev/serverlessservice"
	LabelServiceType             = "networking.internal.knative.dev/serviceType"
	LabelIngress                 = "networking.internal.knative.dev/ingress"
	LabelVisibility              = "networking.knative.dev/visibility"
	LabelTag                     = "networking.knative.dev/tag"
	LabelApp                     = "app"

	AnnotationIngressClass       = "networking.knative.dev/ingress.class"
	AnnotationIngressClassAlias  = "networking.knative.dev/ingress-class"
	AnnotationDefaultContainer   = "kubectl.kubernetes.io/default-container"
	AnnotationLastApplied        = "kubectl.kubernetes.io/last-applied-configuration"
	AnnotationMetric             = "autoscaling.knative.dev/metric"
	autoscalingAnnotationPrefix  = "autoscaling.knative.dev/"
	annotationLastPinned         = "serving.knative.dev/lastPinned"
	annotationNoGC               = "serving.knative.dev/no-gc"
	annotationRoutingStateChange = "serving.knative.dev/routingStateModified"
	annotationRoutes             = "serving.knative.dev/routes"

	// VisibilityClusterLocal is the value of LabelVisibility that keeps a
	// route (or one tag of it) inside the cluster.
	VisibilityClusterLocal = "cluster-local"
)

// revisionLabels are the labels of a revision's Deployment and its pods:
// the template's labels (without the routing ones Knative keeps off
// children) plus the revision's identity, and app=<rev> unless the user
// set app.
func revisionLabels(r *revision) map[string]string {
	l := make(map[string]string, len(r.tmpl.Labels)+6)
	maps.Copy(l, r.tmpl.Labels)
	delete(l, LabelRoute)
	delete(l, LabelRoutingState)
	l[LabelService] = r.service
	l[LabelConfiguration] = r.service
	l[LabelConfigurationGeneration] = r.generation
	l[route.RevisionLabel] = r.name
	l[LabelRevisionUID] = r.uid
	if _, ok := l[LabelApp]; !ok {
		l[LabelApp] = r.name
	}
	return l
}

// deploymentAnnotations are the template annotations Knative copies onto a
// revision's Deployment: without the bookkeeping keys and without any
// autoscaling.knative.dev/* key (those belong to the autoscaler).
func deploymentAnnotations(tmpl map[string]string) map[string]string {
	a := make(map[string]string, len(tmpl)+1)
	for k, v := range tmpl {
		switch {
		case k == annotationLastPinned, k == annotationNoGC,
			k == annotationRoutingStateChange, k == annotationRoutes,
			strings.HasPrefix(k, autoscalingAnnotationPrefix):
			continue
		}
		a[k] = v
	}
	return a
}

// serviceNetworkLabels are the labels of a revision's public or private k8s
// Service: the revision labels plus the ServerlessService ones.
func serviceNetworkLabels(r *revision, serviceType string) map[string]string {
	l := revisionLabels(r)
	l[LabelServerlessService] = r.name
	l[LabelServiceType] = serviceType
	return l
}

// serviceNetworkAnnotations: Knative's ServerlessService carries only the
// metric annotation, and the revision's k8s Services copy it.
func serviceNetworkAnnotations(tmpl map[string]string) map[string]string {
	if v, ok := tmpl[AnnotationMetric]; ok {
		return map[string]string{AnnotationMetric: v}
	}
	return nil
}

// routeLabels are the labels of the per-Service routing objects: the
// Service's labels plus the route identity.
func routeLabels(svcLabels map[string]string, name, namespace string) map[string]string {
	l := make(map[string]string, len(svcLabels)+3)
	maps.Copy(l, svcLabels)
	l[LabelService] = name
	l[LabelRoute] = name
	l[LabelRouteNamespace] = namespace
	return l
}

// routeAnnotations are the Service's annotations minus kubectl's
// last-applied copy, as Knative propagates them to the Route.
func routeAnnotations(svc map[string]string) map[string]string {
	if len(svc) == 0 {
		return nil
	}
	a := maps.Clone(svc)
	delete(a, AnnotationLastApplied)
	if len(a) == 0 {
		return nil
	}
	return a
}
