package traffic

// Percent is a share of a route's traffic, 0 to 100: a traffic target's
// in a Service (spec.traffic[].percent, an int64 in Knative's API) and in
// a ledger, a revision's share in a gradual rollout or as a canary's
// weight, and a split of the route table. Its encoding is an integer's.
type Percent int64

// Valid reports whether p is a share: 0 to 100.
func (p Percent) Valid() bool { return 0 <= p && p <= 100 }

// Int32 is p as Gateway API's backendRefs[].weight, an int32.
func (p Percent) Int32() int32 { return int32(p) }

// Int64 is p as an integer of unstructured content, such as an Istio
// VirtualService's route[].weight: an int64, the only integer type that
// unstructured objects copy.
func (p Percent) Int64() int64 { return int64(p) }
