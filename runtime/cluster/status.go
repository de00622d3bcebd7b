package cluster

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	gosync "sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/ebb-dev/ebb/engine"
	"github.com/ebb-dev/ebb/internal/kube"
	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/serving"
)

// The controller's status ConfigMap.
const (
	// StatusName is the status ConfigMap of a source: StatusName-<source>.
	StatusName = "ebb-status"
	// StatusKey holds the JSON StatusDoc.
	StatusKey = "status.json"
	// StatusGzipKey holds it gzipped, in binaryData, instead of StatusKey
	// when the document is larger than statusInline.
	StatusGzipKey = "status.json.gz"
	// StatusLabel marks status ConfigMaps; its value is the source.
	StatusLabel = "ebb.dev/status"
	// StatusManager is the field manager of status writes.
	StatusManager = "ebb-status"
)

// Conditions of a source, as Flux names them.
const (
	Ready       = "Ready"       // the last applied commit is the one followed, and it applied cleanly
	Reconciling = "Reconciling" // a new commit is being applied
	Stalled     = "Stalled"     // the followed commit does not load, plan or apply
)

// StatusDoc is what the controller publishes for `ebb get` and for people
// reading the cluster: one source's condition, the last commit applied,
// and every Service's URL, traffic and revisions.
type StatusDoc struct {
	Source    string `json:"source"`
	Condition string `json:"condition"`
	Message   string `json:"message,omitempty"`
	// Commit is the last commit applied; Attempted the one being (or last)
	// worked on, when it differs.
	Commit     string                 `json:"commit,omitempty"`
	CommitTime time.Time              `json:"commitTime,omitzero"`
	Attempted  string                 `json:"attempted,omitempty"`
	Services   []engine.ServiceStatus `json:"services"`
	// DomainMappings are the source's DomainMappings: Ready, or why not
	// (another namespace owns the domain, the Service is not routed).
	DomainMappings []engine.DomainMappingStatus `json:"domainMappings,omitempty"`
}

// Status keeps a source's status ConfigMap up to date. It writes only
// when the document's bytes change, so an unchanged resync writes nothing.
type Status struct {
	// Ingress reports the health of a KIngress by namespace and name
	// (KIngresses.Health); nil: the routes of KIngress classes are shown
	// without it.
	Ingress func(namespace, name string) (engine.IngressHealth, bool)

	k         *kube.Clients
	namespace string
	source    string
	health    func(namespace, revision string) (engine.RevisionHealth, bool)
	log       *slog.Logger

	wmu     gosync.Mutex // held across a write's API call
	mu      gosync.Mutex
	doc     StatusDoc
	desired *engine.Desired
	written []byte
	// failed is the commit Failed last reported, and why, until a newer
	// commit is applied or Resolved is called: applying the last good
	// commit again (a resync, a preview) does not make the source Ready.
	failed, failedMessage string

	// refusedIngresses are the KIngresses the last Applied reports
	// refused, and why (refusedKIngresses).
	refusedIngresses map[[2]string]string
}

// NewStatus returns the status of source, kept in namespace. health
// reports a revision's pods (nil: unknown).
func NewStatus(k *kube.Clients, namespace, source string, health func(namespace, revision string) (engine.RevisionHealth, bool), log *slog.Logger) *Status {
	if health == nil {
		health = func(string, string) (engine.RevisionHealth, bool) { return engine.RevisionHealth{}, false }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Status{k: k, namespace: namespace, source: source, health: health, log: log,
		doc: StatusDoc{Source: source, Condition: Reconciling, Message: "starting"}}
}

// ConfigMapName is the status ConfigMap of a source.
func ConfigMapName(source string) string { return StatusName + "-" + source }

// Load reads the ConfigMap as a previous controller left it, so that a
// restart does not rewrite an unchanged status.
func (s *Status) Load(ctx context.Context) error {
	var cm corev1.ConfigMap
	err := s.k.Core.Get().Namespace(s.namespace).Resource("configmaps").Name(ConfigMapName(s.source)).Do(ctx).Into(&cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read status ConfigMap %s/%s: %w", s.namespace, ConfigMapName(s.source), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := statusBytes(&cm)
	if err != nil {
		return nil // rewritten at the next write
	}
	s.written = b
	var doc StatusDoc
	if json.Unmarshal(s.written, &doc) == nil {
		s.doc = doc
	}
	return nil
}

// statusInline is the largest document kept as plain JSON. A larger one
// (a source of more than about 500 Services, or fewer with many revisions
// each) is gzipped: a ConfigMap holds at most 1 MiB, and the document
// compresses about tenfold.
const statusInline = 256 << 10

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return buf.Bytes()
}

// statusBytes returns the JSON document of a status ConfigMap, plain or
// gzipped.
func statusBytes(cm *corev1.ConfigMap) ([]byte, error) {
	gz, ok := cm.BinaryData[StatusGzipKey]
	if !ok {
		return []byte(cm.Data[StatusKey]), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, StatusGzipKey, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, StatusGzipKey, err)
	}
	return b, nil
}

// Doc returns the current document.
func (s *Status) Doc() StatusDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doc
}

// Begin marks a new commit as being reconciled.
func (s *Status) Begin(ctx context.Context, at serving.Stamp) {
	s.mu.Lock()
	if at.Commit == s.doc.Commit && (s.doc.Condition == Ready || s.failed != "") {
		s.mu.Unlock()
		return
	}
	s.doc.Condition, s.doc.Message, s.doc.Attempted = Reconciling, "applying "+at.Commit, at.Commit
	s.mu.Unlock()
	s.write(ctx)
}

// Applied records the outcome of applying d.
func (s *Status) Applied(ctx context.Context, d *engine.Desired, err error) {
	s.mu.Lock()
	switch {
	case err != nil:
		s.doc.Condition, s.doc.Message, s.doc.Attempted = Stalled, err.Error(), d.At.Commit
	case s.failed != "" && d.At.Commit == s.doc.Commit:
		// The last good commit again: the failed one is still the head.
		s.doc.Condition, s.doc.Message, s.doc.Attempted = Stalled, s.failedMessage, s.failed
	default:
		s.doc.Condition, s.doc.Message, s.doc.Attempted = Ready, "applied "+d.At.Commit, ""
		s.doc.Commit, s.doc.CommitTime = d.At.Commit, d.At.Time.Time.UTC()
		s.failed, s.failedMessage = "", ""
	}
	// Only the Services, ledgers and refused hosts are read again, not
	// the objects.
	s.desired = &engine.Desired{Tree: d.Tree, Ledgers: d.Ledgers, At: d.At, Refused: d.Refused}
	s.refusedIngresses = refusedKIngresses(err)
	s.mu.Unlock()
	s.Refresh(ctx)
}

// Failed records a commit that did not load or plan (or could not be
// fetched or written back): what runs is unchanged.
func (s *Status) Failed(ctx context.Context, commit string, err error) {
	s.mu.Lock()
	s.doc.Condition, s.doc.Message, s.doc.Attempted = Stalled, err.Error(), commit
	if commit != s.doc.Commit {
		// A commit other than the one that runs; a failure of that one
		// (a fetch) is over when it applies again.
		s.failed, s.failedMessage = commit, err.Error()
	}
	s.mu.Unlock()
	s.write(ctx)
}

// Resolved records that the commit Failed reported is no longer the
// head, while the commit applied is unchanged (the branch was reset to
// it): the source is Ready again.
func (s *Status) Resolved(ctx context.Context) {
	s.mu.Lock()
	if s.failed == "" {
		s.mu.Unlock()
		return
	}
	s.failed, s.failedMessage = "", ""
	if s.doc.Condition == Stalled && s.doc.Commit != "" {
		s.doc.Condition, s.doc.Message, s.doc.Attempted = Ready, "applied "+s.doc.Commit, ""
	}
	s.mu.Unlock()
	s.write(ctx)
}

// Refresh recomputes the Services' status from the last applied state,
// the revisions' health and the KIngresses', and writes it if it changed.
func (s *Status) Refresh(ctx context.Context) {
	s.mu.Lock()
	if s.desired != nil {
		s.doc.Services = engine.StatusWithIngress(s.desired, s.health, s.ingresses())
		s.doc.DomainMappings = engine.DomainMappingStatuses(s.desired)
	}
	s.mu.Unlock()
	s.write(ctx)
}

// ingresses is Ingress, with the KIngresses the last apply refused
// reported so, when a Service of the last applied state renders a
// KIngress; nil otherwise.
func (s *Status) ingresses() func(namespace, name string) (engine.IngressHealth, bool) {
	d := s.desired
	if s.Ingress == nil || d == nil || d.Tree == nil || !slices.ContainsFunc(d.Tree.Services, func(svc *serving.Service) bool {
		return engine.RendersKIngress(svc, d.Tree.Config)
	}) {
		return nil
	}
	return withRefused(s.Ingress, s.refusedIngresses)
}

func (s *Status) write(ctx context.Context) {
	// One write at a time, each of the document as it is then: writes
	// from the Target's reports and from Refresh never land out of order.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	doc := s.doc
	if doc.Services == nil {
		doc.Services = []engine.ServiceStatus{}
	}
	b, err := json.Marshal(doc)
	if err != nil || bytes.Equal(b, s.written) {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	cm := configMapBody{APIVersion: "v1", Kind: "ConfigMap",
		Metadata: metaBody{Name: ConfigMapName(s.source), Namespace: s.namespace, Labels: map[string]string{StatusLabel: s.source}}}
	if len(b) <= statusInline {
		cm.Data = map[string]string{StatusKey: string(b)}
	} else {
		cm.BinaryData = map[string][]byte{StatusGzipKey: gzipped(b)}
	}
	if err := s.apply(ctx, cm); err != nil {
		s.log.Error("write status", "configmap", s.namespace+"/"+ConfigMapName(s.source), "error", err)
		return
	}
	s.mu.Lock()
	s.written = b
	s.mu.Unlock()
}

// metadataOnly asks the apiserver to answer with the object's metadata:
// a status document is hundreds of kilobytes for a large source, and a
// write needs none of it back.
const metadataOnly = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

// apply applies cm under StatusManager, reading back only its metadata.
func (s *Status) apply(ctx context.Context, cm configMapBody) error {
	req, err := kube.Apply(s.k.Core, "configmaps", s.namespace, cm.Metadata.Name, cm, StatusManager, true)
	if err != nil {
		return err
	}
	return req.SetHeader("Accept", metadataOnly).Do(ctx).Error()
}

// APIClient is what ReadStatus and ListStatus need of a client of the API
// server: a REST client, which they use with absolute paths, so that any
// will do (kube.Clients, a client-go clientset).
type APIClient interface {
	RESTClient() rest.Interface
}

// configMaps reads the ConfigMaps of namespace through any client of the
// API server.
func configMaps(c APIClient, namespace string) *rest.Request {
	return c.RESTClient().Get().AbsPath("/api/v1").Namespace(namespace).Resource("configmaps")
}

// ReadStatus reads a source's status as the controller published it.
func ReadStatus(ctx context.Context, c APIClient, namespace, source string) (StatusDoc, error) {
	var cm corev1.ConfigMap
	if err := getJSON(ctx, configMaps(c, namespace).Name(ConfigMapName(source)), &cm); err != nil {
		return StatusDoc{}, fmt.Errorf("read status of source %s: %w", source, err)
	}
	return ParseStatus(&cm)
}

// ListStatus reads the status of every source published in namespace (the
// ConfigMaps labelled StatusLabel), sorted by source. A ConfigMap that does
// not decode is an error naming it.
func ListStatus(ctx context.Context, c APIClient, namespace string) ([]StatusDoc, error) {
	var list corev1.ConfigMapList
	if err := getJSON(ctx, configMaps(c, namespace).Param("labelSelector", StatusLabel), &list); err != nil {
		return nil, fmt.Errorf("list status ConfigMaps in %s: %w", namespace, err)
	}
	docs := make([]StatusDoc, 0, len(list.Items))
	for i := range list.Items {
		doc, err := ParseStatus(&list.Items[i])
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	slices.SortFunc(docs, func(a, b StatusDoc) int { return strings.Compare(a.Source, b.Source) })
	return docs, nil
}

// getJSON sends req asking for JSON and decodes the answer into v.
func getJSON(ctx context.Context, req *rest.Request, v any) error {
	b, err := req.SetHeader("Accept", "application/json").Do(ctx).Raw()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ParseStatus decodes a status ConfigMap.
func ParseStatus(cm *corev1.ConfigMap) (StatusDoc, error) {
	var doc StatusDoc
	b, err := statusBytes(cm)
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, StatusKey, err)
	}
	return doc, nil
}

// Health reports a revision from the Runtime as engine.Health reads it:
// its replicas, ready pods, and why it fails, as Knative's Revision does.
func (r *Runtime) Health(namespace, revision string) (engine.RevisionHealth, bool) {
	ready, replicas, err := r.ReadyPods(context.Background(), scaler.RevisionKey{Namespace: namespace, Name: revision})
	if err != nil {
		return engine.Health(0, 0, engine.Unknown, err.Error(), ""), true
	}
	if _, ok := r.deployment(namespace, revision); !ok {
		return engine.RevisionHealth{}, false
	}
	if f, failed := r.Failure(namespace, revision); failed && ready == 0 {
		return engine.Health(replicas, ready, engine.False, f.Reason, f.Message), true
	}
	switch {
	case ready > 0, replicas == 0:
		return engine.Health(replicas, ready, engine.True, "", ""), true
	default:
		return engine.Health(replicas, ready, engine.Unknown, "waiting for pods", ""), true
	}
}
