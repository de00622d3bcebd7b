package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterIPChange reports whether err refuses to apply a Service because
// the apply would change its cluster IP, which the API never lets change
// once set: a headless Service (clusterIP None) that is to get an
// address, or one with an address that is to become headless.
func clusterIPChange(r Ref, err error) bool {
	var st apierrors.APIStatus
	if r.Group != "" || r.Kind != "Service" || !apierrors.IsInvalid(err) || !errors.As(err, &st) || st.Status().Details == nil {
		return false
	}
	for _, c := range st.Status().Details.Causes {
		if strings.HasPrefix(c.Field, "spec.clusterIP") {
			return true
		}
	}
	return false
}

// recreate deletes the live object (at the resource version read) and
// applies u as a new one: for a Service ebb created whose cluster IP
// must change (clusterIPChange), as Knative's route reconciler replaces
// a placeholder Service whose type cannot be updated in place.
func recreate(ctx context.Context, res object, u *unstructured.Unstructured, live *observed, mgr string) (*unstructured.Unstructured, error) {
	rv := live.resourceVersion
	err := res.Delete(ctx, u.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("delete to change its cluster IP: %w", res.denied("delete", err))
	}
	return res.Apply(ctx, u.GetName(), intent(u, nil), metav1.ApplyOptions{FieldManager: mgr, Force: true})
}
