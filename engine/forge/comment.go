package forge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Comment is a pull request's comment (GitLab: a merge request's note).
type Comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// commentsPath is where pull request n's comments are listed and made:
// the comments on GitHub and Gitea, the merge request's notes on
// GitLab.
func (c *Client) commentsPath(n int) string {
	if c.Kind == GitLab {
		return fmt.Sprintf("/projects/%s/merge_requests/%d/notes", url.PathEscape(c.Repository), n)
	}
	return fmt.Sprintf("/repos/%s/issues/%d/comments", c.Repository, n)
}

// Comments reads the first 100 comments of pull request n, oldest first
// (GitLab: its notes, newest first).
func (c *Client) Comments(ctx context.Context, n int) ([]Comment, error) {
	var out []Comment
	q := "?per_page=100"
	if c.Kind == Gitea {
		q = "?limit=100"
	}
	if err := c.get(ctx, c.commentsPath(n)+q, &out); err != nil {
		return nil, fmt.Errorf("comments of #%d: %w", n, err)
	}
	return out, nil
}

// CreateComment comments body on pull request n and returns the comment.
func (c *Client) CreateComment(ctx context.Context, n int, body string) (Comment, error) {
	var out Comment
	if err := c.do(ctx, http.MethodPost, c.commentsPath(n), map[string]string{"body": body}, &out); err != nil {
		return Comment{}, fmt.Errorf("comment on #%d: %w", n, err)
	}
	return out, nil
}

// EditComment replaces the body of comment id on pull request n: PATCH
// /repos/{o}/{r}/issues/comments/{id} (GitHub, Gitea), PUT
// /projects/:id/merge_requests/:iid/notes/:note_id (GitLab).
func (c *Client) EditComment(ctx context.Context, n int, id int64, body string) error {
	method, path := http.MethodPatch, fmt.Sprintf("/repos/%s/issues/comments/%d", c.Repository, id)
	if c.Kind == GitLab {
		method, path = http.MethodPut, fmt.Sprintf("%s/%d", c.commentsPath(n), id)
	}
	if err := c.do(ctx, method, path, map[string]string{"body": body}, nil); err != nil {
		return fmt.Errorf("edit comment %d on #%d: %w", id, n, err)
	}
	return nil
}
