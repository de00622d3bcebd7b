package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebb-dev/ebb/engine"
)

// writeServiceTable prints the services or the revisions of svcs, then
// the whole of each reason the table cut.
func writeServiceTable(out io.Writer, kind string, svcs []engine.ServiceStatus, now time.Time) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	var cut cutReasons
	if kind == kindServices {
		writeServices(w, svcs, &cut)
	} else {
		writeRevisions(w, svcs, now, &cut)
	}
	w.Flush()
	cut.write(out)
}

// writeServices prints one line per Service; a LOADBALANCER column, the
// address its net-* ingress controller reports, when any Service has one.
func writeServices(w io.Writer, svcs []engine.ServiceStatus, cut *cutReasons) {
	lb := slices.ContainsFunc(svcs, func(s engine.ServiceStatus) bool { return s.LoadBalancer != "" })
	if lb {
		fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tLOADBALANCER\tLATEST\tREADY\tROLLOUT\tREASON")
	} else {
		fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tLATEST\tREADY\tROLLOUT\tREASON")
	}
	for _, s := range svcs {
		url := s.URL
		if lb {
			url += "\t" + s.LoadBalancer
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Namespace, s.Name, url, s.Latest, s.Ready,
			cut.cell("rollout of "+s.Namespace+"/"+s.Name, s.Rollout.Summary()),
			cut.cell("service "+s.Namespace+"/"+s.Name, s.Reason))
	}
}

func writeRevisions(w io.Writer, svcs []engine.ServiceStatus, now time.Time, cut *cutReasons) {
	fmt.Fprintln(w, "NAME\tSERVICE\tTRAFFIC\tROLLOUT\tTAGS\tGENERATION\tAGE\tDESIRED/ACTUAL\tREADY\tREASON")
	for _, s := range svcs {
		for _, r := range s.Revisions {
			traffic := ""
			if r.Percent > 0 {
				traffic = fmt.Sprintf("%d%%", r.Percent)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\n", r.Name, s.Name, traffic, r.Rollout,
				strings.Join(r.Tags, ","), r.Generation, age(now.Sub(r.Created)), r.Desired, r.Actual, r.Ready,
				cut.cell("revision "+s.Namespace+"/"+r.Name, r.Reason))
		}
	}
}

// writeDomainMappings prints one line per DomainMapping: the domain, its
// URL, the Service it maps to, and whether it routes; then the whole of
// each reason the table cut.
func writeDomainMappings(out io.Writer, dms []engine.DomainMappingStatus) {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	var cut cutReasons
	fmt.Fprintln(w, "NAMESPACE\tNAME\tURL\tSERVICE\tREADY\tREASON")
	for _, d := range dms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Namespace, d.Name, d.URL, d.Service, d.Ready,
			cut.cell("domainmapping "+d.Namespace+"/"+d.Name, d.Reason))
	}
	w.Flush()
	cut.write(out)
}

// cutReasons are the reasons a table showed cut to one line, each after
// the name of what it explains.
type cutReasons []string

// cell is reason as a table cell (see oneLine), noting it when cut.
func (c *cutReasons) cell(name, reason string) string {
	one := oneLine(reason)
	if one != strings.TrimRight(reason, "\n") {
		*c = append(*c, name+":\n"+strings.TrimRight(reason, "\n"))
	}
	return one
}

// write prints the whole reasons, after the table.
func (c cutReasons) write(out io.Writer) {
	for _, r := range c {
		fmt.Fprintf(out, "\n%s\n", r)
	}
}

// maxCell is the longest reason a table shows, in runes.
const maxCell = 120

// oneLine is s as a table cell: its first line, followed by "(+N more
// lines)" when it has more, and cut at maxCell runes with "…". The
// table is followed by the whole text (see cutReasons), as are -o yaml
// and -o json.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	first, rest, multi := strings.Cut(s, "\n")
	if r := []rune(first); len(r) > maxCell {
		first = string(r[:maxCell-1]) + "…"
	}
	if !multi {
		return first
	}
	n := strings.Count(rest, "\n") + 1
	if n == 1 {
		return first + " (+1 more line)"
	}
	return fmt.Sprintf("%s (+%d more lines)", first, n)
}

// age formats a duration the way kubectl does: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d > 50*365*24*time.Hour:
		// Planned without a commit time (the epoch stamp of a plain
		// directory): the age is not known.
		return "-"
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
