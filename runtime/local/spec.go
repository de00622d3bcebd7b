package local

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// Names the local runtime reads from rendered objects.
const (
	labelService       = "serving.knative.dev/service"
	queueContainerName = "queue-proxy"
	// maxGrace bounds a revision's terminationGracePeriodSeconds here.
	// Knative sets it to the revision's timeoutSeconds (300 s by
	// default) so that requests in flight can finish; locally the
	// queue-proxy has drained them before the container gets SIGTERM,
	// so the container gets the kubelet's default, 30 s, at most.
	maxGrace     = 30 * time.Second
	readinessEnv = "SERVING_READINESS_PROBE"
)

// podSpec is a revision's pod, resolved for this machine from its rendered
// Deployment.
type podSpec struct {
	namespace, revision, service string
	// replicas is the Deployment's initial replica count.
	replicas int32
	// container is the user container's name; image its image; command
	// its command and args with $(VAR) references expanded.
	container string
	image     string
	command   []string
	args      []string
	// env is the user container's environment with every reference
	// resolved but the per-pod ones (fieldRef), which podEnv fills in.
	env []corev1.EnvVar
	// queueEnv is the queue-proxy container's environment, likewise.
	queueEnv   []corev1.EnvVar
	workingDir string
	grace      time.Duration
	// untrusted marks a preview's revision: its pods run in the
	// runtime's Sandbox, when it has one.
	untrusted bool
	// hash identifies the spec: a changed Deployment replaces the pods.
	hash string

	// source is the directory the revision's ko:// image builds in and
	// its relative commands and working directory resolve against; empty
	// means the runtime's Dir. Part of hash: new source, new pods.
	source string

	// code is the content digest of the ko:// image when the revision was
	// created ("" if unknown): its binary is that code's (see
	// Builder.BuildCode). Part of hash.
	code string

	// binary is the built ko:// image, resolved once: a revision is
	// immutable, so its pods all run the same program.
	binMu  sync.Mutex
	binary string
}

// key names the revision.
func (s *podSpec) key() scaler.RevisionKey {
	return scaler.RevisionKey{Namespace: s.namespace, Name: s.revision}
}

// dir is where the revision builds and runs from: its source, else repo
// (the runtime's Dir).
func (s *podSpec) dir(repo string) string { return cmp.Or(s.source, repo) }

// program returns the executable of a ko:// image, building it on first
// use in s.dir(repo).
func (s *podSpec) program(ctx context.Context, b *Builder, repo string) (string, error) {
	s.binMu.Lock()
	defer s.binMu.Unlock()
	if s.binary != "" {
		return s.binary, nil
	}
	path, err := b.BuildCode(ctx, s.dir(repo), s.image, s.code)
	if err != nil {
		return "", err
	}
	s.binary = path
	return path, nil
}

// objectIndex finds the ConfigMaps and Secrets that env references name.
type objectIndex map[string]*unstructured.Unstructured

func indexObjects(objs []*unstructured.Unstructured) objectIndex {
	idx := objectIndex{}
	for _, o := range objs {
		if o.GetAPIVersion() == "v1" && (o.GetKind() == "ConfigMap" || o.GetKind() == "Secret") {
			idx[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return idx
}

// data returns a ConfigMap's or Secret's entries (Secret data decoded).
func (idx objectIndex) data(kind, namespace, name string) (map[string]string, bool) {
	o, ok := idx[kind+"/"+namespace+"/"+name]
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	if kind == "Secret" {
		var s corev1.Secret
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &s); err != nil {
			return nil, false
		}
		for k, v := range s.StringData {
			out[k] = v
		}
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, true
	}
	var cm corev1.ConfigMap
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cm); err != nil {
		return nil, false
	}
	for k, v := range cm.Data {
		out[k] = v
	}
	return out, true
}

// isRevisionDeployment reports whether o is a rendered revision Deployment.
func isRevisionDeployment(o *unstructured.Unstructured) bool {
	return o.GetAPIVersion() == "apps/v1" && o.GetKind() == "Deployment" && o.GetLabels()[route.RevisionLabel] != ""
}

// parseDeployment resolves a rendered revision Deployment into a podSpec;
// source is where it builds and runs from ("" for the runtime's Dir),
// code the digests of its ko:// images (image → digest).
func parseDeployment(o *unstructured.Unstructured, idx objectIndex, source string, code map[string]string) (*podSpec, error) {
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
		return nil, fmt.Errorf("decode Deployment %s/%s: %w", o.GetNamespace(), o.GetName(), err)
	}
	s := &podSpec{namespace: d.Namespace, revision: d.Labels[route.RevisionLabel], service: d.Labels[labelService],
		replicas: 1, grace: maxGrace}
	if d.Spec.Replicas != nil {
		s.replicas = *d.Spec.Replicas
	}
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		s.grace = min(time.Duration(*g)*time.Second, maxGrace)
	}
	var user, queue *corev1.Container
	for i := range d.Spec.Template.Spec.Containers {
		c := &d.Spec.Template.Spec.Containers[i]
		switch {
		case c.Name == queueContainerName:
			queue = c
		case user == nil:
			user = c
		default:
			return nil, fmt.Errorf("revision %s: more than one user container cannot run locally", s.revision)
		}
	}
	if user == nil || queue == nil {
		return nil, fmt.Errorf("revision %s: Deployment %s lacks a user or a queue-proxy container", s.revision, d.Name)
	}
	var err error
	if s.env, err = resolveEnv(user, d.Namespace, idx); err != nil {
		return nil, fmt.Errorf("revision %s: %w", s.revision, err)
	}
	if s.queueEnv, err = resolveEnv(queue, d.Namespace, idx); err != nil {
		return nil, fmt.Errorf("revision %s: queue-proxy: %w", s.revision, err)
	}
	s.container, s.image, s.command, s.args, s.workingDir, s.source = user.Name, user.Image, user.Command, user.Args, user.WorkingDir, source
	if len(s.command) == 0 {
		s.code = code[s.image]
	}
	_, s.untrusted = d.Spec.Template.Labels[serving.PreviewLabel]
	if len(s.command) == 0 && !strings.HasPrefix(s.image, KoPrefix) {
		return nil, fmt.Errorf("revision %s: image %q cannot run locally: give the container a command, or use a %s<import path> image", s.revision, s.image, KoPrefix)
	}
	b, _ := json.Marshal(struct {
		Env, QueueEnv      []corev1.EnvVar
		Image, Dir, Source string
		Code               string `json:",omitempty"`
		Cmd, Args          []string
		Grace              time.Duration
		Untrusted          bool
	}{s.env, s.queueEnv, s.image, s.workingDir, s.source, s.code, s.command, s.args, s.grace, s.untrusted})
	sum := sha256.Sum256(b)
	s.hash = hex.EncodeToString(sum[:8])
	return s, nil
}

// resolveEnv returns c's environment with envFrom and valueFrom
// references to ConfigMaps and Secrets replaced by their values. fieldRef
// values stay, for podEnv.
func resolveEnv(c *corev1.Container, namespace string, idx objectIndex) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	for _, from := range c.EnvFrom {
		kind, name, optional := "ConfigMap", "", false
		switch {
		case from.ConfigMapRef != nil:
			name, optional = from.ConfigMapRef.Name, deref(from.ConfigMapRef.Optional)
		case from.SecretRef != nil:
			kind, name, optional = "Secret", from.SecretRef.Name, deref(from.SecretRef.Optional)
		default:
			continue
		}
		data, ok := idx.data(kind, namespace, name)
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("envFrom: %s %s/%s not found in the repository", kind, namespace, name)
		}
		for _, k := range sortedKeys(data) {
			out = append(out, corev1.EnvVar{Name: from.Prefix + k, Value: data[k]})
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.FieldRef != nil {
			out = append(out, e)
			continue
		}
		kind, name, key, optional := "", "", "", false
		switch {
		case e.ValueFrom.ConfigMapKeyRef != nil:
			r := e.ValueFrom.ConfigMapKeyRef
			kind, name, key, optional = "ConfigMap", r.Name, r.Key, deref(r.Optional)
		case e.ValueFrom.SecretKeyRef != nil:
			r := e.ValueFrom.SecretKeyRef
			kind, name, key, optional = "Secret", r.Name, r.Key, deref(r.Optional)
		default:
			return nil, fmt.Errorf("env %s: only configMapKeyRef, secretKeyRef and fieldRef run locally", e.Name)
		}
		data, ok := idx.data(kind, namespace, name)
		v, has := data[key]
		if !ok || !has {
			if optional {
				continue
			}
			return nil, fmt.Errorf("env %s: %s %s/%s key %q not found in the repository", e.Name, kind, namespace, name, key)
		}
		out = append(out, corev1.EnvVar{Name: e.Name, Value: v})
	}
	return out, nil
}

// podEnv is the final environment of one pod's container: fieldRefs
// answered for this machine, and overrides (PORT, USER_PORT) applied.
func podEnv(vars []corev1.EnvVar, namespace, pod string, overrides map[string]string) (map[string]string, []string, error) {
	m := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, e := range vars {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				v = pod
			case "metadata.namespace":
				v = namespace
			case "status.podIP", "status.hostIP", "status.podIPs", "status.hostIPs":
				v = "127.0.0.1"
			case "spec.nodeName":
				v = "localhost"
			default:
				return nil, nil, fmt.Errorf("env %s: fieldRef %s does not run locally", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		} else {
			v = expand(v, m)
		}
		set(e.Name, v)
	}
	for _, k := range sortedKeys(overrides) {
		set(k, overrides[k])
	}
	list := make([]string, len(order))
	for i, k := range order {
		list[i] = k + "=" + m[k]
	}
	return m, list, nil
}

// expand replaces $(VAR) with VAR's value, as Kubernetes does in env
// values, commands and args; $$ escapes, unknown references stay as they
// are.
func expand(s string, env map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// resolveWorkingDir places a container's working directory on this
// machine: relative to the serving repository, which is also the default.
func resolveWorkingDir(dir, repo string) string {
	if dir == "" {
		return repo
	}
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(repo, dir)
}

func deref(b *bool) bool { return b != nil && *b }

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// localProbes rewrites the readiness probes of SERVING_READINESS_PROBE
// (one probe or a list, as JSON) so that probes of the container's
// declared port reach the port the container got on this machine.
func localProbes(js string, declared, local int) (string, error) {
	if strings.TrimSpace(js) == "" || declared == local {
		return js, nil
	}
	var v any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		return "", fmt.Errorf("SERVING_READINESS_PROBE: %w", err)
	}
	probes, isList := v.([]any)
	if !isList {
		probes = []any{v}
	}
	for _, p := range probes {
		m, _ := p.(map[string]any)
		for _, kind := range []string{"tcpSocket", "httpGet", "grpc"} {
			action, _ := m[kind].(map[string]any)
			if action == nil {
				continue
			}
			if port, ok := action["port"].(float64); ok && int(port) == declared {
				action["port"] = local
			}
		}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// envValue returns the literal value of the variable name in vars.
func envValue(vars []corev1.EnvVar, name string) string {
	for _, e := range vars {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
