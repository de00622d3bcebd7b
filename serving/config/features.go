package config

import (
	"fmt"
	"sort"
	"strings"
)

// Flag is a config-features value.
type Flag string

// The feature flag values.
const (
	Enabled  Flag = "Enabled"
	Disabled Flag = "Disabled"
	Allowed  Flag = "Allowed"
	// AllowRootBounded is secure-pod-defaults' level that applies the
	// secure defaults but leaves runAsNonRoot alone.
	AllowRootBounded Flag = "AllowRootBounded"
)

// Feature keys ebb acts on (Knative's names).
const (
	FeatureMultiContainer          = "multi-container"
	FeatureMultiContainerProbing   = "multi-container-probing"
	FeatureTagHeaderBasedRouting   = "tag-header-based-routing"
	FeatureAutoDetectHTTP2         = "autodetect-http2"
	FeatureQueueProxyResourceDefs  = "queueproxy.resource-defaults"
	FeaturePodSpecInitContainers   = "kubernetes.podspec-init-containers"
	FeaturePodSpecAffinity         = "kubernetes.podspec-affinity"
	FeaturePodSpecEmptyDir         = "kubernetes.podspec-volumes-emptydir"
	FeaturePodSpecPVC              = "kubernetes.podspec-persistent-volume-claim"
	FeaturePodSpecFieldRef         = "kubernetes.podspec-fieldref"
	FeaturePodSpecNodeSelector     = "kubernetes.podspec-nodeselector"
	FeaturePodSpecTolerations      = "kubernetes.podspec-tolerations"
	FeaturePodSpecSecurityContext  = "kubernetes.podspec-securitycontext"
	FeaturePodSpecRuntimeClassName = "kubernetes.podspec-runtimeclassname"
	FeaturePodSpecTopologySpread   = "kubernetes.podspec-topologyspreadconstraints"
	FeaturePodSpecHostAliases      = "kubernetes.podspec-hostaliases"
	FeaturePodSpecDNSPolicy        = "kubernetes.podspec-dnspolicy"
	FeaturePodSpecDNSConfig        = "kubernetes.podspec-dnsconfig"
	FeaturePodSpecSchedulerName    = "kubernetes.podspec-schedulername"
	FeaturePodSpecPriorityClass    = "kubernetes.podspec-priorityclassname"
	FeaturePodSpecHostPath         = "kubernetes.podspec-volumes-hostpath"
	FeaturePodSpecHostNetwork      = "kubernetes.podspec-hostnetwork"
	FeaturePodSpecHostIPC          = "kubernetes.podspec-hostipc"
	FeaturePodSpecHostPID          = "kubernetes.podspec-hostpid"
	FeaturePodSpecShareProcessNS   = "kubernetes.podspec-shareprocessnamespace"
	FeaturePodSpecMountPropagation = "kubernetes.podspec-volumes-mount-propagation"
	FeaturePodSpecVolumesCSI       = "kubernetes.podspec-volumes-csi"
	FeaturePodSpecVolumesImage     = "kubernetes.podspec-volumes-image"
	FeaturePodSpecPVWrite          = "kubernetes.podspec-persistent-volume-write"
	FeatureContainerSpecAddCaps    = "kubernetes.containerspec-addcapabilities"
	FeaturePodSpecDryRun           = "kubernetes.podspec-dryrun"
	FeatureQueueProxyMountPodInfo  = "queueproxy.mount-podinfo"
	FeatureSecurePodDefaults       = "secure-pod-defaults"
	FeatureHTTPFullDuplex          = "features.knative.dev/http-full-duplex"
)

// defaultFeatures are Knative's defaults for the flags above.
var defaultFeatures = map[string]Flag{
	FeatureMultiContainer:          Enabled,
	FeatureMultiContainerProbing:   Disabled,
	FeatureTagHeaderBasedRouting:   Disabled,
	FeatureAutoDetectHTTP2:         Disabled,
	FeatureQueueProxyResourceDefs:  Disabled,
	FeaturePodSpecInitContainers:   Disabled,
	FeaturePodSpecAffinity:         Disabled,
	FeaturePodSpecEmptyDir:         Enabled,
	FeaturePodSpecPVC:              Disabled,
	FeaturePodSpecFieldRef:         Disabled,
	FeaturePodSpecNodeSelector:     Disabled,
	FeaturePodSpecTolerations:      Disabled,
	FeaturePodSpecSecurityContext:  Disabled,
	FeaturePodSpecRuntimeClassName: Disabled,
	FeaturePodSpecTopologySpread:   Disabled,
	FeaturePodSpecHostAliases:      Disabled,
	FeaturePodSpecDNSPolicy:        Disabled,
	FeaturePodSpecDNSConfig:        Disabled,
	FeaturePodSpecSchedulerName:    Disabled,
	FeaturePodSpecPriorityClass:    Disabled,
	FeaturePodSpecHostPath:         Disabled,
	FeaturePodSpecHostNetwork:      Disabled,
	FeaturePodSpecHostIPC:          Disabled,
	FeaturePodSpecHostPID:          Disabled,
	FeaturePodSpecShareProcessNS:   Disabled,
	FeaturePodSpecMountPropagation: Disabled,
	FeaturePodSpecVolumesCSI:       Disabled,
	FeaturePodSpecVolumesImage:     Disabled,
	FeaturePodSpecPVWrite:          Disabled,
	FeatureContainerSpecAddCaps:    Disabled,
	FeaturePodSpecDryRun:           Allowed,
	FeatureQueueProxyMountPodInfo:  Disabled,
	FeatureSecurePodDefaults:       Disabled,
	FeatureHTTPFullDuplex:          Disabled,
}

// Features is config-features. Every key of the ConfigMap is kept, so
// flags ebb does not name still reach the renderer.
type Features struct {
	Flags map[string]Flag
}

// DefaultFeatures returns Knative's feature defaults.
func DefaultFeatures() *Features {
	f := &Features{Flags: make(map[string]Flag, len(defaultFeatures))}
	for k, v := range defaultFeatures {
		f.Flags[k] = v
	}
	return f
}

// NewFeaturesFromMap parses config-features. Values are Enabled, Disabled
// or Allowed in any case; anything else is an error naming the key (Knative
// ignores such values; ebb refuses them so a typo cannot pass silently).
func NewFeaturesFromMap(data map[string]string) (*Features, error) {
	f := DefaultFeatures()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == ExampleKey {
			continue
		}
		v := strings.TrimSpace(data[k])
		// "secure-pod-defaults" takes Knative's levels: Disabled,
		// AllowRootBounded, Enabled (not Allowed).
		if k == FeatureSecurePodDefaults {
			level, ok := parseLevel(v, Disabled, AllowRootBounded, Enabled)
			if !ok {
				return nil, fmt.Errorf("%s: invalid value %q, want one of Disabled, AllowRootBounded, Enabled", k, v)
			}
			f.Flags[k] = level
			continue
		}
		flag, ok := parseFlag(v)
		if !ok {
			return nil, fmt.Errorf("%s: invalid value %q, want one of Enabled, Disabled, Allowed", k, v)
		}
		f.Flags[k] = flag
	}
	return f, nil
}

func parseFlag(v string) (Flag, bool) { return parseLevel(v, Enabled, Disabled, Allowed) }

// parseLevel returns the one of levels v names, in any case.
func parseLevel(v string, levels ...Flag) (Flag, bool) {
	for _, f := range levels {
		if strings.EqualFold(v, string(f)) {
			return f, true
		}
	}
	return "", false
}

// Get returns the flag for key; unknown keys are Disabled.
func (f *Features) Get(key string) Flag {
	if v, ok := f.Flags[key]; ok {
		return v
	}
	return Disabled
}

// IsEnabled reports whether key is Enabled.
func (f *Features) IsEnabled(key string) bool { return f.Get(key) == Enabled }

// TagHeaderBasedRouting reports tag-header-based-routing.
func (f *Features) TagHeaderBasedRouting() bool { return f.IsEnabled(FeatureTagHeaderBasedRouting) }
