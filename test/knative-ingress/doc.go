// Package knativeingress checks the KIngress ebb renders against the one
// Knative's own reconcilers build: a corpus of serving repositories is
// rendered by ebb (render.Render) and the same Services and
// DomainMappings are handed to knative.dev/serving v0.48.1's route
// reconciler resources (MakeRoute, BuildTrafficConfiguration, the
// visibility resolver, MakeIngress) and domain-mapping's MakeIngress;
// names, labels, annotations and specs must be equal, and every KIngress
// must pass Knative's Ingress.Validate. The placeholder Services ebb
// renders once a KIngress reports a load balancer are compared with
// those of the route reconciler's MakeK8sService for the same status.
//
// Deliberate differences, not compared:
//   - ownerReferences: Knative's KIngress is owned by its Route or
//     DomainMapping; ebb makes no such objects and prunes by inventory.
//   - the DomainMapping UID in serving.knative.dev/domainMappingUID is
//     ebb's name-based render.DomainMappingUID; the Knative side is given
//     the same UID, so the label is compared.
//   - a class given by its short name (kourier, contour, ...) is written
//     with its full name; Knative copies the annotation as written.
//   - placeholder Services (and their Endpoints) carry the label
//     serving.knative.dev/routeNamespace, as ebb's routes do; Knative's
//     do not. Fields the API server defaults (ports' protocol and target
//     port, session affinity) are compared with the defaults filled in.
//   - during a gradual rollout the rollout annotation carries the step
//     parameters the ledger recorded when the rollout started; the corpus
//     holds no rollout in progress.
package knativeingress
