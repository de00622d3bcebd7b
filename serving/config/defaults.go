package config

import (
	"bytes"
	"fmt"
	"math"
	"text/template"
	"text/template/parse"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults is config-defaults: the values filled into revision templates
// that do not set them.
type Defaults struct {
	RevisionTimeoutSeconds              int64
	MaxRevisionTimeoutSeconds           int64
	RevisionResponseStartTimeoutSeconds int64
	RevisionIdleTimeoutSeconds          int64

	ContainerConcurrency          int64
	ContainerConcurrencyMaxLimit  int64
	AllowContainerConcurrencyZero bool

	// UserContainerNameTemplate names the user container; it runs on the
	// Service's metadata.
	UserContainerNameTemplate *template.Template
	// InitContainerNameTemplate names init containers.
	InitContainerNameTemplate *template.Template

	EnableServiceLinks bool

	RevisionCPURequest              *resource.Quantity
	RevisionCPULimit                *resource.Quantity
	RevisionMemoryRequest           *resource.Quantity
	RevisionMemoryLimit             *resource.Quantity
	RevisionEphemeralStorageRequest *resource.Quantity
	RevisionEphemeralStorageLimit   *resource.Quantity
}

// DefaultDefaults returns config-defaults' defaults.
func DefaultDefaults() *Defaults {
	return &Defaults{
		RevisionTimeoutSeconds:        300,
		MaxRevisionTimeoutSeconds:     600,
		ContainerConcurrencyMaxLimit:  1000,
		AllowContainerConcurrencyZero: true,
		UserContainerNameTemplate:     template.Must(template.New("container-name-template").Parse("user-container")),
		InitContainerNameTemplate:     template.Must(template.New("init-container-name-template").Parse("init-container")),
	}
}

// NewDefaultsFromMap parses config-defaults over the defaults.
func NewDefaultsFromMap(data map[string]string) (*Defaults, error) {
	d := DefaultDefaults()
	for _, f := range []struct {
		dst *int64
		key string
	}{
		{&d.RevisionTimeoutSeconds, "revision-timeout-seconds"},
		{&d.MaxRevisionTimeoutSeconds, "max-revision-timeout-seconds"},
		{&d.RevisionResponseStartTimeoutSeconds, "revision-response-start-timeout-seconds"},
		{&d.RevisionIdleTimeoutSeconds, "revision-idle-timeout-seconds"},
		{&d.ContainerConcurrency, "container-concurrency"},
		{&d.ContainerConcurrencyMaxLimit, "container-concurrency-max-limit"},
	} {
		if err := asInt64(data, f.dst, f.key); err != nil {
			return nil, err
		}
	}
	if err := asBool(data, &d.AllowContainerConcurrencyZero, "allow-container-concurrency-zero"); err != nil {
		return nil, err
	}
	if err := asBool(data, &d.EnableServiceLinks, "enable-service-links"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst **resource.Quantity
		key string
	}{
		{&d.RevisionCPURequest, "revision-cpu-request"},
		{&d.RevisionCPULimit, "revision-cpu-limit"},
		{&d.RevisionMemoryRequest, "revision-memory-request"},
		{&d.RevisionMemoryLimit, "revision-memory-limit"},
		{&d.RevisionEphemeralStorageRequest, "revision-ephemeral-storage-request"},
		{&d.RevisionEphemeralStorageLimit, "revision-ephemeral-storage-limit"},
	} {
		if err := asQuantity(data, f.dst, f.key); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		dst *(*template.Template)
		key string
	}{
		{&d.UserContainerNameTemplate, "container-name-template"},
		{&d.InitContainerNameTemplate, "init-container-name-template"},
	} {
		if v, _, ok := lookup(data, f.key); ok {
			t, err := template.New(f.key).Parse(v)
			if err != nil {
				return nil, fmt.Errorf("failed to parse %q: %w", f.key, err)
			}
			if err := t.Execute(&bytes.Buffer{}, metav1.ObjectMeta{}); err != nil {
				return nil, fmt.Errorf("error executing template %q: %w", f.key, err)
			}
			*f.dst = t
		}
	}
	if d.RevisionTimeoutSeconds > d.MaxRevisionTimeoutSeconds {
		return nil, fmt.Errorf("revision-timeout-seconds (%d) cannot be greater than max-revision-timeout-seconds (%d)",
			d.RevisionTimeoutSeconds, d.MaxRevisionTimeoutSeconds)
	}
	if d.RevisionResponseStartTimeoutSeconds > d.RevisionTimeoutSeconds {
		return nil, fmt.Errorf("revision-response-start-timeout-seconds (%d) cannot be greater than revision-timeout-seconds (%d)",
			d.RevisionResponseStartTimeoutSeconds, d.RevisionTimeoutSeconds)
	}
	if d.RevisionIdleTimeoutSeconds > d.RevisionTimeoutSeconds {
		return nil, fmt.Errorf("revision-idle-timeout-seconds (%d) cannot be greater than revision-timeout-seconds (%d)",
			d.RevisionIdleTimeoutSeconds, d.RevisionTimeoutSeconds)
	}
	if d.ContainerConcurrencyMaxLimit < 1 {
		return nil, outOfBounds(d.ContainerConcurrencyMaxLimit, 1, math.MaxInt32, "container-concurrency-max-limit")
	}
	if d.ContainerConcurrency < 0 || d.ContainerConcurrency > d.ContainerConcurrencyMaxLimit {
		return nil, outOfBounds(d.ContainerConcurrency, 0, d.ContainerConcurrencyMaxLimit, "container-concurrency")
	}
	return d, nil
}

// UserContainerName renders container-name-template for a Service.
func (d *Defaults) UserContainerName(meta metav1.ObjectMeta) string {
	return execName(d.UserContainerNameTemplate, meta)
}

// InitContainerName renders init-container-name-template for a Service.
func (d *Defaults) InitContainerName(meta metav1.ObjectMeta) string {
	return execName(d.InitContainerNameTemplate, meta)
}

func execName(t *template.Template, meta metav1.ObjectMeta) string {
	if t.Tree != nil && t.Tree.Root != nil && len(t.Tree.Root.Nodes) == 1 {
		// A template without actions (the default, "user-container") is
		// its text: render runs it once per revision.
		if text, ok := t.Tree.Root.Nodes[0].(*parse.TextNode); ok {
			return string(text.Text)
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, meta); err != nil {
		// Templates are checked on parse against ObjectMeta.
		return ""
	}
	return buf.String()
}
