package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// RequestSync asks the admin server at addr (host:port) to sync now,
// presenting token: POST /v1/sync. It returns nil when the server
// accepted (202), else an error with the server's answer.
func RequestSync(ctx context.Context, client *http.Client, addr, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/sync", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no ebb up answers at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusAccepted {
		return nil
	}
	msg := strings.TrimSpace(string(body))
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		msg += " (Retry-After: " + ra + "s)"
	}
	return fmt.Errorf("%s: %s: %s", addr, resp.Status, msg)
}
