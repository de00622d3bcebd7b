package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"sigs.k8s.io/yaml"
)

// clusterHint follows a failure to reach a local ebb up.
const clusterHint = "(ebb in a cluster: ebb get services --cluster [--context NAME])"

// fetchAdmin reads path from a running ebb up into v and returns the
// bytes it answered.
func fetchAdmin(ctx context.Context, admin, path string, v any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("no ebb up answers at %s: %w\n%s", admin, err, clusterHint)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s%s: %w", admin, path, err)
	case resp.StatusCode == http.StatusNotFound && path == "/v1/sources":
		return nil, fmt.Errorf("%s follows a directory, not a Git source", admin)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s%s: %s", admin, path, resp.Status)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%s%s: %w", admin, path, err)
	}
	return raw, nil
}

// writeRaw prints a JSON document as it is, or as YAML.
func writeRaw(e *env, raw []byte, format string) int {
	if format == "yaml" {
		y, err := yaml.JSONToYAML(raw)
		if err != nil {
			fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
			return exitInvalid
		}
		e.stdout.Write(y)
		return exitOK
	}
	e.stdout.Write(raw)
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		io.WriteString(e.stdout, "\n")
	}
	return exitOK
}
