package knativevalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing/fstest"

	"knative.dev/pkg/apis"
	kconfig "knative.dev/serving/pkg/apis/config"
	v1 "knative.dev/serving/pkg/apis/serving/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/ebb-dev/ebb/serving"
)

// Answer is what one side said about a case: nothing (accepted), or the
// field paths of its errors ("" for an error Knative gives no path) and
// its messages.
type Answer struct {
	Paths    []string
	Messages []string
}

// Accepted reports whether the case passed.
func (a Answer) Accepted() bool { return len(a.Paths) == 0 }

func answer(paths, msgs map[string]bool) Answer {
	var a Answer
	for p := range paths {
		a.Paths = append(a.Paths, p)
	}
	for m := range msgs {
		a.Messages = append(a.Messages, m)
	}
	sort.Strings(a.Paths)
	sort.Strings(a.Messages)
	return a
}

// Knative is Knative v0.48.1's answer: the Service decoded strictly,
// defaulted and validated as its webhook does on create, with the case's
// config-features in the context; warnings are not errors.
func Knative(c Case) (Answer, error) {
	b, err := json.Marshal(c.Service)
	if err != nil {
		return Answer{}, err
	}
	var svc v1.Service
	strict, err := sigsjson.UnmarshalStrict(b, &svc, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil || len(strict) > 0 {
		return Answer{}, fmt.Errorf("decode: %v %v", err, strict)
	}
	features, err := kconfig.NewFeaturesConfigFromMap(c.Features)
	if err != nil {
		return Answer{}, err
	}
	ctx := kconfig.ToContext(context.Background(), &kconfig.Config{Features: features})
	ctx = apis.WithinCreate(ctx)
	svc.SetDefaults(ctx)
	fe := svc.Validate(ctx).Filter(apis.ErrorLevel)
	paths, msgs := map[string]bool{}, map[string]bool{}
	for _, e := range fe.WrappedErrors() {
		if len(e.Paths) == 0 {
			paths[""] = true
			msgs[": "+e.Message] = true
		}
		for _, p := range e.Paths {
			paths[p] = true
			msgs[p+": "+e.Message] = true
		}
	}
	return answer(paths, msgs), nil
}

// Ebb is ebb's answer: the Service and a config-features ConfigMap in a
// repository read by serving.Load.
func Ebb(c Case) (Answer, error) {
	svc, err := yaml.Marshal(c.Service)
	if err != nil {
		return Answer{}, err
	}
	fsys := fstest.MapFS{"service.yaml": {Data: svc}}
	if c.Features != nil {
		cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "config-features", "namespace": "knative-serving"}, "data": c.Features}
		b, err := yaml.Marshal(cm)
		if err != nil {
			return Answer{}, err
		}
		fsys["config-features.yaml"] = &fstest.MapFile{Data: b}
	}
	_, err = serving.Load(fsys)
	paths, msgs := map[string]bool{}, map[string]bool{}
	var list serving.ErrorList
	switch {
	case err == nil:
	case errors.As(err, &list):
		for _, fe := range list {
			if fe.File != "service.yaml" {
				return Answer{}, fmt.Errorf("error outside the Service: %v", fe)
			}
			for _, p := range strings.Split(fe.Path, ", ") {
				paths[p] = true
				msgs[p+": "+fe.Message] = true
			}
		}
	default:
		return Answer{}, err
	}
	return answer(paths, msgs), nil
}
