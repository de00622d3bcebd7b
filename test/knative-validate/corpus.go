package knativevalidate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Case is one Service of the corpus, with the config-features it is
// validated under.
type Case struct {
	Name     string
	Service  map[string]any
	Features map[string]string
	// Differs, when set, is why ebb deliberately answers otherwise than
	// Knative for this case: the test then checks that they do differ.
	Differs string
}

// openingFlags are the config-features keys that open pod spec fields
// (Knative v0.48.1's names).
var openingFlags = []string{
	"kubernetes.containerspec-addcapabilities",
	"kubernetes.podspec-affinity",
	"kubernetes.podspec-dnsconfig",
	"kubernetes.podspec-dnspolicy",
	"kubernetes.podspec-fieldref",
	"kubernetes.podspec-hostaliases",
	"kubernetes.podspec-hostipc",
	"kubernetes.podspec-hostnetwork",
	"kubernetes.podspec-hostpid",
	"kubernetes.podspec-init-containers",
	"kubernetes.podspec-nodeselector",
	"kubernetes.podspec-persistent-volume-claim",
	"kubernetes.podspec-persistent-volume-write",
	"kubernetes.podspec-priorityclassname",
	"kubernetes.podspec-runtimeclassname",
	"kubernetes.podspec-schedulername",
	"kubernetes.podspec-securitycontext",
	"kubernetes.podspec-shareprocessnamespace",
	"kubernetes.podspec-tolerations",
	"kubernetes.podspec-topologyspreadconstraints",
	"kubernetes.podspec-volumes-csi",
	"kubernetes.podspec-volumes-emptydir",
	"kubernetes.podspec-volumes-hostpath",
	"kubernetes.podspec-volumes-image",
	"kubernetes.podspec-volumes-mount-propagation",
	"multi-container-probing",
}

// flagSet is a config-features ConfigMap's data.
type flagSet struct {
	name string
	data map[string]string
}

func allFlags(v string) map[string]string {
	m := map[string]string{}
	for _, k := range openingFlags {
		m[k] = v
	}
	return m
}

var (
	defaultFlags = flagSet{"default", nil}
	enabledFlags = flagSet{"enabled", func() map[string]string {
		m := allFlags("Enabled")
		m["secure-pod-defaults"] = "Enabled"
		return m
	}()}
	allowedFlags = flagSet{"allowed", allFlags("Allowed")}
	rootBounded  = flagSet{"root-bounded", map[string]string{"secure-pod-defaults": "AllowRootBounded"}}
	flagSets     = []flagSet{defaultFlags, enabledFlags, allowedFlags}
)

const baseYAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: svc
  namespace: default
spec:
  template:
    spec:
      containers:
        - image: gcr.io/knative-samples/helloworld-go
`

// fromYAML parses a YAML object.
func fromYAML(s string) map[string]any {
	b, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// set sets the value at a path such as "spec.template.spec.containers[0].ports",
// making the maps on the way; lists must exist.
func set(obj map[string]any, path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	var cur any = obj
	for i, p := range parts {
		name, idx := p, -1
		if j := strings.IndexByte(p, '['); j >= 0 {
			name = p[:j]
			idx, _ = strconv.Atoi(p[j+1 : len(p)-1])
		}
		m := cur.(map[string]any)
		last := i == len(parts)-1
		if idx < 0 {
			if last {
				m[name] = v
				return obj
			}
			if _, ok := m[name]; !ok {
				m[name] = map[string]any{}
			}
			cur = m[name]
			continue
		}
		l, _ := m[name].([]any)
		for len(l) <= idx {
			l = append(l, map[string]any{})
		}
		m[name] = l
		if last {
			l[idx] = v
			return obj
		}
		cur = l[idx]
	}
	return obj
}

// service is the base Service with the values at paths set.
func service(kv ...any) map[string]any {
	obj := fromYAML(baseYAML)
	for i := 0; i+1 < len(kv); i += 2 {
		set(obj, kv[i].(string), clone(kv[i+1]))
	}
	return obj
}

const (
	podPath  = "spec.template.spec"
	ctrPath  = podPath + ".containers[0]"
	sidePath = podPath + ".containers[1]"
	initPath = podPath + ".initContainers[0]"
)

// Corpus is every case, in a fixed order.
func Corpus() []Case {
	var cs []Case
	add := func(name string, fs flagSet, svc map[string]any) {
		cs = append(cs, Case{Name: name + "/" + fs.name, Service: svc, Features: fs.data})
	}
	// Every field set alone, under each flag set.
	type level struct {
		name string
		typ  reflect.Type
		path string
		base []any
		sets []flagSet
	}
	withPort := []any{ctrPath + ".ports", []any{map[string]any{"containerPort": 8080}}}
	withSidecar := append(append([]any{}, withPort...), sidePath+".image", "gcr.io/knative-samples/sidecar")
	withInit := []any{initPath + ".image", "gcr.io/knative-samples/init"}
	withVolume := []any{podPath + ".volumes", []any{map[string]any{"name": "v", "configMap": map[string]any{"name": "c"}}}}
	mount := map[string]any{"name": "v", "mountPath": "/v", "readOnly": true}
	levels := []level{
		{"podspec", reflect.TypeFor[corev1.PodSpec](), podPath, nil, flagSets},
		{"container", reflect.TypeFor[corev1.Container](), ctrPath, nil, flagSets},
		{"sidecar", reflect.TypeFor[corev1.Container](), sidePath, withSidecar, flagSets},
		{"init", reflect.TypeFor[corev1.Container](), initPath, withInit, []flagSet{enabledFlags}},
		{"securityContext", reflect.TypeFor[corev1.SecurityContext](), ctrPath + ".securityContext", nil, append(flagSets, rootBounded)},
		{"podSecurityContext", reflect.TypeFor[corev1.PodSecurityContext](), podPath + ".securityContext", nil, append(flagSets, rootBounded)},
		{"capabilities", reflect.TypeFor[corev1.Capabilities](), ctrPath + ".securityContext.capabilities", nil, append(flagSets, rootBounded)},
		{"readinessProbe", reflect.TypeFor[corev1.Probe](), ctrPath + ".readinessProbe", nil, []flagSet{defaultFlags}},
		{"livenessProbe", reflect.TypeFor[corev1.Probe](), ctrPath + ".livenessProbe", nil, []flagSet{defaultFlags}},
		{"startupProbe", reflect.TypeFor[corev1.Probe](), ctrPath + ".startupProbe", nil, []flagSet{defaultFlags}},
		{"sidecarProbe", reflect.TypeFor[corev1.Probe](), sidePath + ".readinessProbe", withSidecar, []flagSet{defaultFlags, enabledFlags}},
		{"port", reflect.TypeFor[corev1.ContainerPort](), ctrPath + ".ports[0]", nil, []flagSet{defaultFlags}},
		{"volumeMount", reflect.TypeFor[corev1.VolumeMount](), ctrPath + ".volumeMounts[0]", withVolume, flagSets},
		{"volume", reflect.TypeFor[corev1.Volume](), podPath + ".volumes[0]", []any{ctrPath + ".volumeMounts", []any{mount}, podPath + ".volumes[0].name", "v"}, flagSets},
		{"env", reflect.TypeFor[corev1.EnvVar](), ctrPath + ".env[0]", nil, []flagSet{defaultFlags}},
		{"envValueFrom", reflect.TypeFor[corev1.EnvVarSource](), ctrPath + ".env[0].valueFrom", []any{ctrPath + ".env[0].name", "E"}, flagSets},
		{"envFrom", reflect.TypeFor[corev1.EnvFromSource](), ctrPath + ".envFrom[0]", nil, []flagSet{defaultFlags}},
		{"resources", reflect.TypeFor[corev1.ResourceRequirements](), ctrPath + ".resources", nil, []flagSet{defaultFlags}},
	}
	for _, l := range levels {
		for _, f := range fields(l.typ) {
			for _, fs := range l.sets {
				kv := append(append([]any{}, l.base...), l.path+"."+f.name, sample(f.typ, 0))
				add(fmt.Sprintf("%s.%s", l.name, f.name), fs, service(kv...))
			}
		}
	}
	cs = append(cs, rules()...)
	cs = append(cs, samples()...)
	return cs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
