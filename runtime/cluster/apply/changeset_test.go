package apply

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestObjectErrors: the object failures of an apply's error are found
// through wrapping (a location, the source) and joining, in order; an
// ObjectError reads as its ref and its cause.
func TestObjectErrors(t *testing.T) {
	ing := Ref{Group: "networking.internal.knative.dev", Kind: "Ingress", Namespace: "kin", Name: "web"}
	cm := Ref{Kind: "ConfigMap", Namespace: "kin", Name: "settings"}
	var cs ChangeSet
	cs.fail(cm, errors.New("read: forbidden"))
	located := fmt.Errorf("service.yaml:3: %w", &ObjectError{Ref: ing, Err: errors.New("apply: forbidden")})
	err := fmt.Errorf("apply main: %w", errors.Join(cs.Err(), located, errors.New("inventory: conflict")))
	var got []string
	for _, e := range ObjectErrors(err) {
		got = append(got, e.Ref.String()+" | "+e.Err.Error())
	}
	want := []string{"ConfigMap kin/settings | read: forbidden", "Ingress.networking.internal.knative.dev kin/web | apply: forbidden"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ObjectErrors (-want +got):\n%s", d)
	}
	if got, want := cs.Err().Error(), "ConfigMap kin/settings: read: forbidden"; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
	if ObjectErrors(nil) != nil || ObjectErrors(errors.New("x")) != nil {
		t.Error("ObjectErrors of an error without object failures is not nil")
	}
}
