package kube

import (
	"context"
	"fmt"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
)

// ReviewToken asks the API who token belongs to, for audiences (a
// TokenReview); ok is false when the API does not authenticate it.
func (c *Clients) ReviewToken(ctx context.Context, token string, audiences []string) (user authnv1.UserInfo, ok bool, err error) {
	in := &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: audiences}}
	out := &authnv1.TokenReview{}
	if err := c.Authentication.Post().Resource("tokenreviews").Body(in).Do(ctx).Into(out); err != nil {
		return user, false, fmt.Errorf("token review: %w", err)
	}
	return out.Status.User, out.Status.Authenticated, nil
}

// Allowed asks the API whether user may do what attrs say (a
// SubjectAccessReview); reason is the authorizer's, when it gives one.
func (c *Clients) Allowed(ctx context.Context, user authnv1.UserInfo, attrs authzv1.ResourceAttributes) (ok bool, reason string, err error) {
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	in := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		ResourceAttributes: &attrs, User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra}}
	out := &authzv1.SubjectAccessReview{}
	if err := c.Authorization.Post().Resource("subjectaccessreviews").Body(in).Do(ctx).Into(out); err != nil {
		return false, "", fmt.Errorf("access review: %w", err)
	}
	return out.Status.Allowed, out.Status.Reason, nil
}
