// Package webhook receives push notifications from GitHub, GitLab, Gitea
// and generic senders, checks their signature or token, and asks for a
// sync at once when the push touched a ref the source follows.
package webhook
