package serving

import (
	"testing"
	"time"

	"github.com/ebb-dev/ebb/serving/config"
)

func TestRolloutDuration(t *testing.T) {
	network := &config.Network{RolloutDuration: 2 * time.Minute}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		network     *config.Network
		want        time.Duration
	}{
		{"none", nil, nil, 0},
		{"config-network", nil, network, 2 * time.Minute},
		{"the annotation wins", map[string]string{RolloutDurationAnnotation: "20s"}, network, 20 * time.Second},
		{"the alias", map[string]string{RolloutDurationAnnotationLegacy: "30s"}, network, 30 * time.Second},
		{"the annotation over its alias", map[string]string{RolloutDurationAnnotation: "20s", RolloutDurationAnnotationLegacy: "30s"}, nil, 20 * time.Second},
		{"an annotation of 0 leaves config-network's", map[string]string{RolloutDurationAnnotation: "0s"}, network, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{}
			s.Annotations = tc.annotations
			if got := s.RolloutDuration(tc.network); got != tc.want {
				t.Errorf("RolloutDuration = %v, want %v", got, tc.want)
			}
		})
	}
}
