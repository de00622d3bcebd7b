package serving

import (
	"reflect"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-dev/ebb/serving/config"
)

// The allow-lists of a revision's pod spec, as Knative's field masks
// (knative.dev/serving pkg/apis/serving/fieldmask.go) have them: each
// mask copies the fields a revision may set, some only when a
// config-features flag opens them; a field set but not copied is
// "must not set the field(s)".

// disallowed returns the JSON names of the fields of in that masked does
// not keep, sorted (Knative's apis.CheckDisallowedFields).
func disallowed[T any](in, masked T) kerrs {
	v, m := reflect.ValueOf(in), reflect.ValueOf(masked)
	t := v.Type()
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if reflect.DeepEqual(v.Field(i).Interface(), m.Field(i).Interface()) {
			continue
		}
		f := t.Field(i)
		name := f.Name
		if tag := f.Tag.Get("json"); tag != "" && tag != "-" {
			name, _, _ = strings.Cut(tag, ",")
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return errDisallowed(names...)
}

// on reports whether a flag is anything but Disabled (what opens a field).
func on(f *config.Features, key string) bool { return f.Get(key) != config.Disabled }

// securePodDefaults reports whether secure-pod-defaults is Enabled or
// AllowRootBounded.
func securePodDefaults(f *config.Features) bool {
	v := f.Get(config.FeatureSecurePodDefaults)
	return v == config.Enabled || v == config.AllowRootBounded
}

func podSpecMask(in *corev1.PodSpec, f *config.Features) corev1.PodSpec {
	out := corev1.PodSpec{
		ServiceAccountName: in.ServiceAccountName,
		Containers:         in.Containers,
		Volumes:            in.Volumes,
		ImagePullSecrets:   in.ImagePullSecrets,
		EnableServiceLinks: in.EnableServiceLinks,
	}
	if in.AutomountServiceAccountToken != nil && !*in.AutomountServiceAccountToken {
		out.AutomountServiceAccountToken = in.AutomountServiceAccountToken
	}
	if on(f, config.FeaturePodSpecAffinity) {
		out.Affinity = in.Affinity
	}
	if on(f, config.FeaturePodSpecTopologySpread) {
		out.TopologySpreadConstraints = in.TopologySpreadConstraints
	}
	if on(f, config.FeaturePodSpecHostAliases) {
		out.HostAliases = in.HostAliases
	}
	if on(f, config.FeaturePodSpecNodeSelector) {
		out.NodeSelector = in.NodeSelector
	}
	if on(f, config.FeaturePodSpecRuntimeClassName) {
		out.RuntimeClassName = in.RuntimeClassName
	}
	if on(f, config.FeaturePodSpecTolerations) {
		out.Tolerations = in.Tolerations
	}
	if on(f, config.FeaturePodSpecSecurityContext) || on(f, config.FeatureSecurePodDefaults) {
		out.SecurityContext = in.SecurityContext
	}
	if on(f, config.FeaturePodSpecShareProcessNS) {
		out.ShareProcessNamespace = in.ShareProcessNamespace
	}
	if on(f, config.FeaturePodSpecPriorityClass) {
		out.PriorityClassName = in.PriorityClassName
	}
	if on(f, config.FeaturePodSpecSchedulerName) {
		out.SchedulerName = in.SchedulerName
	}
	if on(f, config.FeaturePodSpecInitContainers) {
		out.InitContainers = in.InitContainers
	}
	if on(f, config.FeaturePodSpecDNSPolicy) {
		out.DNSPolicy = in.DNSPolicy
	}
	if on(f, config.FeaturePodSpecDNSConfig) {
		out.DNSConfig = in.DNSConfig
	}
	if on(f, config.FeaturePodSpecHostIPC) {
		out.HostIPC = in.HostIPC
	}
	if on(f, config.FeaturePodSpecHostPID) {
		out.HostPID = in.HostPID
	}
	if on(f, config.FeaturePodSpecHostNetwork) {
		out.HostNetwork = in.HostNetwork
	}
	return out
}

func containerMask(in *corev1.Container) corev1.Container {
	return corev1.Container{
		Name:                     in.Name,
		Args:                     in.Args,
		Command:                  in.Command,
		Env:                      in.Env,
		WorkingDir:               in.WorkingDir,
		EnvFrom:                  in.EnvFrom,
		Image:                    in.Image,
		ImagePullPolicy:          in.ImagePullPolicy,
		LivenessProbe:            in.LivenessProbe,
		Ports:                    in.Ports,
		ReadinessProbe:           in.ReadinessProbe,
		Resources:                in.Resources,
		SecurityContext:          in.SecurityContext,
		StartupProbe:             in.StartupProbe,
		TerminationMessagePath:   in.TerminationMessagePath,
		TerminationMessagePolicy: in.TerminationMessagePolicy,
		VolumeMounts:             in.VolumeMounts,
	}
}

func volumeMountMask(in *corev1.VolumeMount, f *config.Features) corev1.VolumeMount {
	out := corev1.VolumeMount{Name: in.Name, ReadOnly: in.ReadOnly, MountPath: in.MountPath, SubPath: in.SubPath}
	if on(f, config.FeaturePodSpecMountPropagation) {
		out.MountPropagation = in.MountPropagation
	}
	return out
}

func probeMask(in *corev1.Probe) corev1.Probe {
	return corev1.Probe{
		ProbeHandler:                  in.ProbeHandler,
		InitialDelaySeconds:           in.InitialDelaySeconds,
		TimeoutSeconds:                in.TimeoutSeconds,
		PeriodSeconds:                 in.PeriodSeconds,
		SuccessThreshold:              in.SuccessThreshold,
		FailureThreshold:              in.FailureThreshold,
		TerminationGracePeriodSeconds: in.TerminationGracePeriodSeconds,
	}
}

func handlerMask(in *corev1.ProbeHandler) corev1.ProbeHandler {
	return corev1.ProbeHandler{Exec: in.Exec, HTTPGet: in.HTTPGet, TCPSocket: in.TCPSocket, GRPC: in.GRPC}
}

func containerPortMask(in *corev1.ContainerPort) corev1.ContainerPort {
	return corev1.ContainerPort{ContainerPort: in.ContainerPort, Name: in.Name, Protocol: in.Protocol}
}

func envVarSourceMask(in *corev1.EnvVarSource, fieldRef bool) corev1.EnvVarSource {
	out := corev1.EnvVarSource{ConfigMapKeyRef: in.ConfigMapKeyRef, SecretKeyRef: in.SecretKeyRef}
	if fieldRef {
		out.FieldRef, out.ResourceFieldRef = in.FieldRef, in.ResourceFieldRef
	}
	return out
}

func volumeSourceMask(in *corev1.VolumeSource, f *config.Features) corev1.VolumeSource {
	out := corev1.VolumeSource{Secret: in.Secret, ConfigMap: in.ConfigMap, Projected: in.Projected}
	if on(f, config.FeaturePodSpecEmptyDir) {
		out.EmptyDir = in.EmptyDir
	}
	if on(f, config.FeaturePodSpecPVC) {
		out.PersistentVolumeClaim = in.PersistentVolumeClaim
	}
	if on(f, config.FeaturePodSpecHostPath) {
		out.HostPath = in.HostPath
	}
	if on(f, config.FeaturePodSpecVolumesCSI) {
		out.CSI = in.CSI
	}
	if on(f, config.FeaturePodSpecVolumesImage) {
		out.Image = in.Image
	}
	return out
}

func volumeProjectionMask(in *corev1.VolumeProjection) corev1.VolumeProjection {
	return corev1.VolumeProjection{Secret: in.Secret, ConfigMap: in.ConfigMap,
		ServiceAccountToken: in.ServiceAccountToken, DownwardAPI: in.DownwardAPI}
}

func podSecurityContextMask(in *corev1.PodSecurityContext, f *config.Features) corev1.PodSecurityContext {
	var out corev1.PodSecurityContext
	if securePodDefaults(f) && in.SeccompProfile != nil {
		if t := in.SeccompProfile.Type; t == corev1.SeccompProfileTypeRuntimeDefault || t == corev1.SeccompProfileTypeUnconfined {
			out.SeccompProfile = &corev1.SeccompProfile{Type: t}
		}
	}
	if !on(f, config.FeaturePodSpecSecurityContext) {
		return out
	}
	out.RunAsUser = in.RunAsUser
	out.RunAsGroup = in.RunAsGroup
	out.RunAsNonRoot = in.RunAsNonRoot
	out.FSGroup = in.FSGroup
	out.SupplementalGroups = in.SupplementalGroups
	out.SeccompProfile = in.SeccompProfile
	return out
}

func securityContextMask(in *corev1.SecurityContext) corev1.SecurityContext {
	out := corev1.SecurityContext{
		Capabilities:             in.Capabilities,
		ReadOnlyRootFilesystem:   in.ReadOnlyRootFilesystem,
		RunAsUser:                in.RunAsUser,
		RunAsGroup:               in.RunAsGroup,
		RunAsNonRoot:             in.RunAsNonRoot,
		AllowPrivilegeEscalation: in.AllowPrivilegeEscalation,
		SeccompProfile:           in.SeccompProfile,
	}
	if in.Privileged != nil && !*in.Privileged {
		out.Privileged = in.Privileged
	}
	return out
}

func capabilitiesMask(in *corev1.Capabilities, f *config.Features) corev1.Capabilities {
	out := corev1.Capabilities{Drop: in.Drop}
	switch {
	case f.IsEnabled(config.FeatureContainerSpecAddCaps):
		out.Add = in.Add
	case securePodDefaults(f) && slices.Equal(in.Add, []corev1.Capability{"NET_BIND_SERVICE"}):
		out.Add = in.Add
	}
	return out
}

func resourceRequirementsMask(in *corev1.ResourceRequirements) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Limits: in.Limits, Requests: in.Requests}
}
