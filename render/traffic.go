package render

import (
	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/route"
	"github.com/ebb-dev/ebb/serving"
	"github.com/ebb-dev/ebb/serving/traffic"
)

// trafficName is one addressable part of a route: the main route (tag "")
// or one tag, with the splits it sends to.
type trafficName struct {
	tag    string
	splits []route.Split
}

// trafficNames resolves a ledger's traffic into the main route (first) and
// one entry per tag, in the ledger's tag order. The main route splits as
// serving.MainSplit says; a tag gets 100% of its revision whatever its
// percent.
func trafficNames(namespace string, targets []serving.Target) []trafficName {
	main := trafficName{}
	for _, t := range serving.MainSplit(targets) {
		main.splits = append(main.splits, split(namespace, t.RevisionName, t.Percent))
	}
	names := []trafficName{main}
	for _, t := range targets {
		if t.Tag != "" {
			names = append(names, trafficName{tag: t.Tag, splits: []route.Split{split(namespace, t.RevisionName, 100)}})
		}
	}
	return names
}

// split sends percent to a revision, tagging the request with the revision
// so the activator (or a debugging user) knows where it was meant to go.
func split(namespace, revision string, percent traffic.Percent) route.Split {
	return route.Split{
		Namespace: namespace,
		Revision:  revision,
		Percent:   percent,
		AppendHeaders: map[string]string{
			header.Revision:  revision,
			header.Namespace: namespace,
		},
	}
}

// paths are the paths of one traffic name's rules. With tag-header routing
// on, the main route first matches Knative-Serving-Tag for each tag, then
// falls through to the default split marked Knative-Serving-Default-Route;
// a tag's own host marks its requests with Knative-Serving-Tag.
func paths(tn trafficName, all []trafficName, tagHeaders bool) []route.Path {
	if !tagHeaders {
		return []route.Path{{Splits: tn.splits}}
	}
	if tn.tag != "" {
		return []route.Path{{AppendHeaders: map[string]string{header.Tag: tn.tag}, Splits: tn.splits}}
	}
	var ps []route.Path
	for _, t := range all {
		if t.tag == "" {
			continue
		}
		ps = append(ps, route.Path{Headers: map[string]string{header.Tag: t.tag}, Splits: t.splits})
	}
	return append(ps, route.Path{AppendHeaders: map[string]string{header.DefaultRoute: "true"}, Splits: tn.splits})
}
