package activator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// HTTPStats is a StatsSink that POSTs messages as JSON to an autoscaler's
// metric.PushPath.
type HTTPStats struct {
	// URL is the autoscaler's base URL, e.g. http://autoscaler:8080.
	URL    string
	Client *http.Client
	// TokenFile, when set, holds the bearer token sent with every push:
	// in a cluster, a projected ServiceAccount token for the controller.
	// It is read again for every push, as the kubelet rotates it.
	TokenFile string
}

var _ StatsSink = (*HTTPStats)(nil)

// Send implements StatsSink.
func (h *HTTPStats) Send(ctx context.Context, msgs []metric.Message) error {
	b, err := json.Marshal(msgs)
	if err != nil {
		return fmt.Errorf("encode stats: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+metric.PushPath, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("send stats to %s: %w", h.URL, err)
	}
	req.Header.Set("Content-Type", metric.ContentType)
	if h.TokenFile != "" {
		tok, err := os.ReadFile(h.TokenFile)
		if err != nil {
			return fmt.Errorf("send stats to %s: token: %w", h.URL, err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("send stats to %s: %w", h.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("send stats to %s: status %d", h.URL, resp.StatusCode)
	}
	return nil
}
