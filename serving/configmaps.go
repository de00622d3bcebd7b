package serving

import "github.com/ebb-dev/ebb/serving/config"

// applyConfigMap feeds one Knative-named ConfigMap into cfg.
func applyConfigMap(cfg *config.Config, name string, data map[string]string) error {
	return cfg.Apply(name, data)
}
