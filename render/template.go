package render

import (
	"github.com/ebb-dev/ebb/serving"
)

// copyTemplate deep-copies a ledger template so defaulting and rendering
// never touch the ledger.
func copyTemplate(t *serving.RevisionTemplateSpec) *serving.RevisionTemplateSpec {
	c := &serving.RevisionTemplateSpec{
		ObjectMeta: *t.ObjectMeta.DeepCopy(),
		Spec:       serving.RevisionSpec{PodSpec: *t.Spec.PodSpec.DeepCopy()},
	}
	c.Spec.ContainerConcurrency = copyInt64(t.Spec.ContainerConcurrency)
	c.Spec.TimeoutSeconds = copyInt64(t.Spec.TimeoutSeconds)
	c.Spec.ResponseStartTimeoutSeconds = copyInt64(t.Spec.ResponseStartTimeoutSeconds)
	c.Spec.IdleTimeoutSeconds = copyInt64(t.Spec.IdleTimeoutSeconds)
	return c
}

func copyInt64(p *int64) *int64 {
	if p == nil {
		return nil
	}
	return new(*p)
}
