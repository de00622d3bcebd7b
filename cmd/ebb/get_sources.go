package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/ebb-dev/ebb/sync"
)

// getSources is `ebb get sources`: the Git sources an `ebb up URL`
// follows, with what was fetched and applied, the last error and the
// previews.
func getSources(ctx context.Context, e *env, admin string, asJSON bool) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/v1/sources", nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: no ebb up answers at %s: %v\n%s", admin, err, clusterHint)
		return exitInvalid
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == http.StatusNotFound {
		err = fmt.Errorf("%s follows a directory, not a Git source", admin)
	} else if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", admin, resp.Status)
	}
	var srcs []sync.SourceStatus
	if err == nil {
		err = json.Unmarshal(raw, &srcs)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ebb get: %v\n", err)
		return exitInvalid
	}
	if asJSON {
		e.stdout.Write(raw)
		return exitOK
	}
	writeSources(e.stdout, srcs, time.Now())
	return exitOK
}

func writeSources(out io.Writer, srcs []sync.SourceStatus, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	fmt.Fprintln(w, "NAME\tURL\tREF\tFETCHED\tAPPLIED\tNEXT SYNC\tERROR")
	for _, s := range srcs {
		next := "-"
		if !s.NextSync.IsZero() {
			next = "in " + age(s.NextSync.Sub(now))
		}
		name := s.Name
		if s.ReadOnly {
			name += " (read-only)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, s.URL, s.Ref, short(s.Fetched), short(s.Applied), next, firstLine(s.LastError))
		for _, p := range s.Previews {
			fmt.Fprintf(w, "  preview %s\t%s\ttag %s\t%s\t\t\t%s\n", p.Ref, joinOr(p.Services, "-"), p.Tag, short(p.Commit), firstLine(p.Error))
		}
	}
	w.Flush()
	for _, s := range srcs {
		if s.LastError != "" {
			fmt.Fprintf(out, "\n%s (%s):\n%s\n", s.Name, s.ErrorStage, s.LastError)
		}
	}
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	out := s[0]
	for _, v := range s[1:] {
		out += "," + v
	}
	return out
}
