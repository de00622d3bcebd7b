package serving

import "maps"

// DeepCopy returns a copy of the template that shares no memory with t.
func (t *RevisionTemplateSpec) DeepCopy() *RevisionTemplateSpec {
	if t == nil {
		return nil
	}
	out := &RevisionTemplateSpec{}
	t.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	t.Spec.DeepCopyInto(&out.Spec)
	return out
}

// DeepCopyInto copies rs into out.
func (rs *RevisionSpec) DeepCopyInto(out *RevisionSpec) {
	rs.PodSpec.DeepCopyInto(&out.PodSpec)
	out.ContainerConcurrency = copyInt(rs.ContainerConcurrency)
	out.TimeoutSeconds = copyInt(rs.TimeoutSeconds)
	out.ResponseStartTimeoutSeconds = copyInt(rs.ResponseStartTimeoutSeconds)
	out.IdleTimeoutSeconds = copyInt(rs.IdleTimeoutSeconds)
}

// DeepCopy returns a copy of the ledger that shares no memory with l.
func (l *Ledger) DeepCopy() *Ledger {
	if l == nil {
		return nil
	}
	out := *l
	out.Revisions = make([]Revision, len(l.Revisions))
	for i, r := range l.Revisions {
		r.Template = *r.Template.DeepCopy()
		r.Created = *r.Created.DeepCopy()
		r.Code = maps.Clone(r.Code)
		if r.Retired != nil {
			r.Retired = r.Retired.DeepCopy()
		}
		if r.Failed != nil {
			r.Failed = r.Failed.DeepCopy()
		}
		out.Revisions[i] = r
	}
	out.Traffic = append([]Target(nil), l.Traffic...)
	if l.Removed != nil {
		out.Removed = l.Removed.DeepCopy()
	}
	out.Rollout = l.Rollout.DeepCopy()
	if l.Gradual != nil {
		g := l.Gradual.DeepCopy()
		out.Gradual = &g
	}
	return &out
}

// DeepCopy copies a stamp.
func (s *Stamp) DeepCopy() *Stamp {
	out := *s
	s.Time.DeepCopyInto(&out.Time)
	return &out
}

func copyInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
