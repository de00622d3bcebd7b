package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/render"
	"github.com/ebb-dev/ebb/runtime/cluster/apply"
	"github.com/ebb-dev/ebb/serving"
)

// Component is the source of ebb's Events.
const Component = "ebb-controller"

// Events records what an apply changed as Kubernetes Events: one per
// object created, configured, pruned or failed (at most MaxPerApply, the
// rest summed up), and one summary on the source's status ConfigMap.
// An apply that changed nothing records nothing.
type Events struct {
	eventWriter
	namespace string // of the status ConfigMap
	source    string
	// MaxPerApply bounds the per-object Events of one apply (default 50).
	MaxPerApply int
}

// eventWriter posts Events as one component of one pod.
type eventWriter struct {
	kube.EventWriter
}

// NewEvents returns the recorder of source, whose status ConfigMap lives
// in namespace; host names the reporting pod.
func NewEvents(k *kube.Clients, namespace, source, host string, log *slog.Logger) *Events {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Events{eventWriter: eventWriter{EventWriter: kube.EventWriter{Clients: k, Component: Component, Host: host, Log: log}},
		namespace: namespace, source: source, MaxPerApply: 50}
}

// Record writes the Events of one apply. versions gives the apiVersion of
// the objects applied; others (pruned ones) are taken as group/v1.
func (e *Events) Record(ctx context.Context, at serving.Stamp, cs apply.ChangeSet, versions map[apply.Ref]string) {
	n := 0
	for _, c := range cs.Changes {
		reason, typ := eventReason(c.Action)
		if reason == "" {
			continue
		}
		if n >= e.MaxPerApply {
			break
		}
		n++
		msg := fmt.Sprintf("%s at commit %s", c.Action, short(at.Commit))
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		ns := c.Ref.Namespace
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		apiVersion := versions[c.Ref]
		if apiVersion == "" {
			apiVersion = "v1"
			if c.Ref.Group != "" {
				apiVersion = c.Ref.Group + "/v1"
			}
		}
		e.emit(ctx, ns, corev1.ObjectReference{APIVersion: apiVersion, Kind: c.Ref.Kind, Namespace: c.Ref.Namespace, Name: c.Ref.Name},
			typ, reason, msg)
	}
	changed := cs.Count(apply.Created) + cs.Count(apply.Configured) + cs.Count(apply.Pruned) + cs.Count(apply.Released) + cs.Count(apply.Failed)
	if changed == 0 {
		return
	}
	typ := corev1.EventTypeNormal
	if cs.Count(apply.Failed) > 0 {
		typ = corev1.EventTypeWarning
	}
	msg := fmt.Sprintf("commit %s: %d created, %d configured, %d pruned, %d failed, %d unchanged", short(at.Commit),
		cs.Count(apply.Created), cs.Count(apply.Configured), cs.Count(apply.Pruned), cs.Count(apply.Failed), cs.Count(apply.Unchanged))
	if n := cs.Count(apply.Released); n > 0 {
		msg += fmt.Sprintf(", %d released", n)
	}
	e.emit(ctx, e.namespace, corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: e.namespace, Name: ConfigMapName(e.source)},
		typ, "Synced", msg)
}

// Refused records, on each Service or DomainMapping refused a host
// because another namespace owns it, in its namespace, a Warning with
// Knative's reason DomainAlreadyClaimed.
func (e *Events) Refused(ctx context.Context, at serving.Stamp, refused []render.HostRefusal) {
	for i, r := range refused {
		if i >= e.MaxPerApply {
			break
		}
		e.emit(ctx, r.Namespace, corev1.ObjectReference{APIVersion: serving.Group + "/" + serving.VersionV1, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name},
			corev1.EventTypeWarning, "DomainAlreadyClaimed", fmt.Sprintf("%s (commit %s): its route does not serve it", r.Message(), short(at.Commit)))
	}
}

func eventReason(a apply.Action) (reason, typ string) {
	switch a {
	case apply.Created:
		return "Created", corev1.EventTypeNormal
	case apply.Configured:
		return "Configured", corev1.EventTypeNormal
	case apply.Pruned:
		return "Pruned", corev1.EventTypeNormal
	case apply.Released:
		return "Released", corev1.EventTypeNormal
	case apply.Failed:
		return "ApplyFailed", corev1.EventTypeWarning
	}
	return "", ""
}

// emit posts one Event, stamped when it is written.
func (e *eventWriter) emit(ctx context.Context, ns string, obj corev1.ObjectReference, typ, reason, msg string) {
	e.Emit(ctx, time.Now(), ns, obj, typ, reason, msg)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
