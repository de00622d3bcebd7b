package kube

import (
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// Apply returns the server-side apply of obj, encoded as JSON, to the
// object name of resource in namespace ("" for a cluster-scoped one)
// through c, a client of its group version, under manager; force takes
// conflicting fields over.
func Apply(c rest.Interface, resource, namespace, name string, obj any, manager string, force bool) (*rest.Request, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("apply %s %s/%s: %w", resource, namespace, name, err)
	}
	return c.Patch(types.ApplyPatchType).Namespace(namespace).Resource(resource).Name(name).
		VersionedParams(&metav1.PatchOptions{FieldManager: manager, Force: &force}, metav1.ParameterCodec).
		Body(body), nil
}
