// Package config parses Knative's serving ConfigMaps (config-network,
// config-domain, config-defaults, config-features, config-gc,
// config-deployment, config-autoscaler) into typed values, with Knative's
// keys, legacy aliases, defaults and validation messages.
package config
