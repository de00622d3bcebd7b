package config

import (
	"fmt"

	"github.com/ebb-dev/ebb/scaler/autoscaling"
	"github.com/ebb-dev/ebb/serving/canary"
)

// Names of the ConfigMaps ebb reads, as Knative names them.
const (
	NetworkName    = "config-network"
	DomainName     = "config-domain"
	DefaultsName   = "config-defaults"
	FeaturesName   = "config-features"
	GCName         = "config-gc"
	DeploymentName = "config-deployment"
	AutoscalerName = "config-autoscaler"
	// RolloutName is ebb's own: the analysis every Service's canary gets
	// (see package canary).
	RolloutName = "config-rollout"
)

// Namespaces whose Knative-named ConfigMaps configure ebb: ebb's own
// system namespace and Knative's, so a repository written for Knative
// keeps working.
const (
	SystemNamespace  = "ebb-system"
	KnativeNamespace = "knative-serving"
)

// Config is every serving ConfigMap, parsed.
type Config struct {
	Network    *Network
	Domain     *Domain
	Defaults   *Defaults
	Features   *Features
	GC         *GC
	Deployment *Deployment
	// Autoscaler is config-autoscaler, parsed by the autoscaler's package.
	Autoscaler *autoscaling.Config
	// Rollout is config-rollout.
	Rollout *Rollout
}

// Default returns the configuration used when the repository has none of
// the ConfigMaps.
func Default() *Config {
	return &Config{
		Network:    DefaultNetwork(),
		Domain:     DefaultDomainConfig(),
		Defaults:   DefaultDefaults(),
		Features:   DefaultFeatures(),
		GC:         DefaultGC(),
		Deployment: DefaultDeployment(),
		Autoscaler: autoscaling.DefaultConfig(),
		Rollout:    &Rollout{Analysis: canary.Default()},
	}
}

// Names lists the ConfigMap names Apply understands.
func Names() []string {
	return []string{AutoscalerName, DefaultsName, DeploymentName, DomainName, FeaturesName, GCName, NetworkName, RolloutName}
}

// IsConfigName reports whether name is one of Knative's serving ConfigMaps.
func IsConfigName(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return false
}

// IsConfigNamespace reports whether a Knative-named ConfigMap in namespace
// ns configures ebb (see SystemNamespace and KnativeNamespace).
func IsConfigNamespace(ns string) bool {
	return ns == SystemNamespace || ns == KnativeNamespace
}

// Apply parses one ConfigMap's data into c, replacing that ConfigMap's
// part of c. Keys a ConfigMap does not know are ignored, as in Knative; a
// bad value is an error that names the key. Names Apply does not know are
// ignored.
func (c *Config) Apply(name string, data map[string]string) error {
	var err error
	switch name {
	case NetworkName:
		var v *Network
		if v, err = NewNetworkFromMap(data); err == nil {
			c.Network = v
		}
	case DomainName:
		var v *Domain
		if v, err = NewDomainFromMap(data); err == nil {
			c.Domain = v
		}
	case DefaultsName:
		var v *Defaults
		if v, err = NewDefaultsFromMap(data); err == nil {
			c.Defaults = v
		}
	case FeaturesName:
		var v *Features
		if v, err = NewFeaturesFromMap(data); err == nil {
			c.Features = v
		}
	case GCName:
		var v *GC
		if v, err = NewGCFromMap(data); err == nil {
			c.GC = v
		}
	case DeploymentName:
		var v *Deployment
		if v, err = NewDeploymentFromMap(data); err == nil {
			c.Deployment = v
		}
	case AutoscalerName:
		var v *autoscaling.Config
		if v, err = autoscaling.NewConfigFromMap(data); err == nil {
			c.Autoscaler = v
		}
	case RolloutName:
		var v *Rollout
		if v, err = NewRolloutFromMap(data); err == nil {
			c.Rollout = v
		}
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
