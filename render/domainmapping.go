package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ebb-dev/ebb/serving"
)

// domainMappingTarget is the namespace and name of the ledger whose
// Service a DomainMapping routes to; !ok when it cannot target one.
func domainMappingTarget(dm *serving.DomainMapping) (namespace, name string, ok bool) {
	ref := dm.Spec.Ref
	if ref.Kind != serving.KindService || (ref.Namespace != "" && ref.Namespace != dm.Namespace) {
		return "", "", false
	}
	return dm.Namespace, ref.Name, true
}

// domainMapping renders a DomainMapping's routes when its target is a
// routed Service of the same namespace; otherwise nothing (status reports
// the unresolved reference). l is the ledger of domainMappingTarget, or nil.
func (r *batch) domainMapping(dm *serving.DomainMapping, l *serving.Ledger) {
	if _, _, ok := domainMappingTarget(dm); !ok || l == nil || l.Removed != nil {
		return
	}
	rt, ok := domainMappingRoute(dm, l.Traffic)
	if !ok {
		return
	}
	class := IngressClass(dm.Annotations, r.cfg)
	if r.cfg.Network.RendersKIngress(class) {
		if err := r.domainMappingKIngress(dm, l, class); err != nil {
			r.errs = append(r.errs, fmt.Errorf("domainmapping %s/%s: %w", dm.Namespace, dm.Name, err))
		}
		return
	}
	labels := map[string]string{LabelDomainMappingNamespace: dm.Namespace}
	if len(validation.IsValidLabelValue(dm.Name)) == 0 {
		labels[LabelDomainMapping] = dm.Name
	}
	for k, v := range dm.Labels {
		labels[k] = v
	}
	r.routes(class, rt, routeMeta{labels: labels, annotations: routeAnnotations(dm.Annotations)})
}

// domainMappingKIngress renders a DomainMapping's KIngress for class: to
// its target Service's placeholder, which carries the target's
// cluster-local host.
func (r *batch) domainMappingKIngress(dm *serving.DomainMapping, l *serving.Ledger, class string) error {
	if err := checkKIngressConfig(r.cfg, class); err != nil {
		return err
	}
	opt, err := httpOption(dm.Annotations, r.cfg)
	if err != nil {
		return err
	}
	target := l.Service + "." + l.Namespace + ".svc." + clusterDomain(r.cfg)
	r.add(makeDomainMappingKIngress(dm, l.Service, target, kingressOptions{
		class: class, annotations: dm.Annotations, httpOption: opt, tls: domainMappingTLS(dm),
	}))
	return nil
}
