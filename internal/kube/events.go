package kube

import (
	"context"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventWriter posts Kubernetes Events as one component of one pod; an
// Event that cannot be written is logged, never returned.
type EventWriter struct {
	Clients   *Clients
	Component string
	Host      string
	Log       *slog.Logger
}

// Emit posts one Event about obj in namespace ns, stamped at.
func (w EventWriter) Emit(ctx context.Context, at time.Time, ns string, obj corev1.ObjectReference, typ, reason, msg string) {
	now := metav1.NewTime(at)
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: eventPrefix(obj.Name), Namespace: ns},
		InvolvedObject: obj,
		Reason:         reason,
		Message:        msg,
		Type:           typ,
		Source:         corev1.EventSource{Component: w.Component, Host: w.Host},
		FirstTimestamp: now,
		LastTimestamp:  now,
		Count:          1,
	}
	if err := w.Clients.Core.Post().Namespace(ns).Resource("events").Body(ev).Do(ctx).Error(); err != nil {
		w.Log.Warn("record event", "object", obj.Kind+" "+obj.Namespace+"/"+obj.Name, "reason", reason, "error", err)
	}
}

// eventPrefix is a generateName for an Event about name.
func eventPrefix(name string) string {
	if len(name) > 200 {
		name = name[:200]
	}
	return strings.ToLower(name) + "."
}
