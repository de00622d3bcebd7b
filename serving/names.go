package serving

import (
	"fmt"

	"github.com/ebb-dev/ebb/serving/names"
)

// RevisionName is the generated name of a Service's revision of a
// generation, <service>-%05d, kept to 63 characters by Knative's
// child-name rule (the Service name is cut and md5(service) put in).
func RevisionName(service string, generation int64) string {
	return names.Child(service, fmt.Sprintf("-%05d", generation))
}
