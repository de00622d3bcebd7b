package serving

import (
	"fmt"

	"github.com/ebb-dev/ebb/serving/config"
)

// validatePodSpecFeatures rejects pod spec fields whose config-features
// flag is Disabled, with Knative's "must not set the field(s)".
func validatePodSpecFeatures(e *errs, rs *RevisionSpec, f *config.Features, p string) {
	gated := []struct {
		set     bool
		feature string
		field   string
	}{
		{rs.Affinity != nil, config.FeaturePodSpecAffinity, "affinity"},
		{len(rs.NodeSelector) > 0, config.FeaturePodSpecNodeSelector, "nodeSelector"},
		{len(rs.Tolerations) > 0, config.FeaturePodSpecTolerations, "tolerations"},
		{rs.RuntimeClassName != nil, config.FeaturePodSpecRuntimeClassName, "runtimeClassName"},
		{len(rs.TopologySpreadConstraints) > 0, config.FeaturePodSpecTopologySpread, "topologySpreadConstraints"},
		{len(rs.HostAliases) > 0, config.FeaturePodSpecHostAliases, "hostAliases"},
		{rs.DNSPolicy != "", config.FeaturePodSpecDNSPolicy, "dnsPolicy"},
		{rs.DNSConfig != nil, config.FeaturePodSpecDNSConfig, "dnsConfig"},
		{rs.SchedulerName != "", config.FeaturePodSpecSchedulerName, "schedulerName"},
		{rs.PriorityClassName != "", config.FeaturePodSpecPriorityClass, "priorityClassName"},
		{rs.HostNetwork, config.FeaturePodSpecHostNetwork, "hostNetwork"},
		{len(rs.InitContainers) > 0, config.FeaturePodSpecInitContainers, "initContainers"},
	}
	for _, g := range gated {
		if g.set && f.Get(g.feature) == config.Disabled {
			e.add(p+"."+g.field, "must not set the field(s)")
		}
	}
	// Never allowed in a revision, whatever the flags say.
	for _, g := range []struct {
		set   bool
		field string
	}{
		{rs.HostPID, "hostPID"},
		{rs.HostIPC, "hostIPC"},
		{rs.NodeName != "", "nodeName"},
		{rs.RestartPolicy != "", "restartPolicy"},
		{rs.ActiveDeadlineSeconds != nil, "activeDeadlineSeconds"},
		{rs.TerminationGracePeriodSeconds != nil, "terminationGracePeriodSeconds"},
		{len(rs.EphemeralContainers) > 0, "ephemeralContainers"},
	} {
		if g.set {
			e.add(p+"."+g.field, "must not set the field(s)")
		}
	}
	for i, v := range rs.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p, i)
		switch {
		case v.EmptyDir != nil && f.Get(config.FeaturePodSpecEmptyDir) == config.Disabled:
			e.add(vp+".emptyDir", "must not set the field(s)")
		case v.PersistentVolumeClaim != nil && f.Get(config.FeaturePodSpecPVC) == config.Disabled:
			e.add(vp+".persistentVolumeClaim", "must not set the field(s)")
		case v.HostPath != nil && f.Get(config.FeaturePodSpecHostPath) == config.Disabled:
			e.add(vp+".hostPath", "must not set the field(s)")
		}
	}
}
