package autoscaling

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewConfigFromMapDefaults(t *testing.T) {
	got, err := NewConfigFromMap(map[string]string{"unknown-key": "whatever"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultConfig(), got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestNewConfigFromMapValues(t *testing.T) {
	got, err := NewConfigFromMap(map[string]string{
		"enable-scale-to-zero":                    "false",
		"container-concurrency-target-percentage": "80",
		"container-concurrency-target-default":    "10",
		"requests-per-second-target-default":      "50",
		"target-burst-capacity":                   "-1",
		"stable-window":                           "2m",
		"panic-window-percentage":                 "20",
		"panic-threshold-percentage":              "300",
		"max-scale-up-rate":                       "10",
		"max-scale-down-rate":                     "4",
		"scale-to-zero-grace-period":              "45s",
		"scale-to-zero-pod-retention-period":      "1m",
		"pod-autoscaler-class":                    HPA,
		"activator-capacity":                      "50",
		"initial-scale":                           "0",
		"allow-zero-initial-scale":                "true",
		"min-scale":                               "1",
		"max-scale":                               "8",
		"max-scale-limit":                         "10",
		"scale-down-delay":                        "15s",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		EnableScaleToZero:                  false,
		ContainerConcurrencyTargetFraction: 0.8,
		ContainerConcurrencyTargetDefault:  10,
		TargetUtilization:                  0.7,
		RPSTargetDefault:                   50,
		TargetBurstCapacity:                -1,
		ActivatorCapacity:                  50,
		AllowZeroInitialScale:              true,
		InitialScale:                       0,
		MinScale:                           1,
		MaxScale:                           8,
		MaxScaleLimit:                      10,
		MaxScaleUpRate:                     10,
		MaxScaleDownRate:                   4,
		StableWindow:                       2 * time.Minute,
		PanicWindowPercentage:              20,
		PanicThresholdPercentage:           300,
		ScaleToZeroGracePeriod:             45 * time.Second,
		ScaleToZeroPodRetentionPeriod:      time.Minute,
		ScaleDownDelay:                     15 * time.Second,
		PodAutoscalerClass:                 HPA,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestNewConfigFromMapFraction(t *testing.T) {
	for in, want := range map[string]float64{"0.5": 0.5, "1": 1, "100": 1, "50": 0.5} {
		got, err := NewConfigFromMap(map[string]string{"container-concurrency-target-percentage": in})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.ContainerConcurrencyTargetFraction != want {
			t.Errorf("%s: fraction = %v, want %v", in, got.ContainerConcurrencyTargetFraction, want)
		}
	}
}

func TestNewConfigFromMapErrors(t *testing.T) {
	tests := []struct {
		data map[string]string
		want string
	}{
		{map[string]string{"stable-window": "soon"}, `failed to parse data: failed to parse "stable-window": time: invalid duration "soon"`},
		{map[string]string{"enable-scale-to-zero": "yes"}, `failed to parse data: failed to parse "enable-scale-to-zero": strconv.ParseBool: parsing "yes": invalid syntax`},
		{map[string]string{"max-scale": "1.5"}, `failed to parse data: failed to parse "max-scale": strconv.ParseInt: parsing "1.5": invalid syntax`},
		{map[string]string{"max-scale-up-rate": "x"}, `failed to parse data: failed to parse "max-scale-up-rate": strconv.ParseFloat: parsing "x": invalid syntax`},
		{map[string]string{"scale-to-zero-grace-period": "0s"}, "scale-to-zero-grace-period must be positive, was: 0s"},
		{map[string]string{"scale-down-delay": "-1s"}, "scale-down-delay cannot be negative, was: -1s"},
		{map[string]string{"scale-down-delay": "1.5s"}, "scale-down-delay = 1.5s, must be specified with at most second precision"},
		{map[string]string{"scale-to-zero-pod-retention-period": "-1s"}, "scale-to-zero-pod-retention-period cannot be negative, was: -1s"},
		{map[string]string{"target-burst-capacity": "-2"}, "target-burst-capacity must be either non-negative or -1 (for unlimited), was: -2.000000"},
		{map[string]string{"container-concurrency-target-percentage": "0"}, "container-concurrency-target-percentage = 0.000000 is outside of valid range of (0, 100]"},
		{map[string]string{"container-concurrency-target-percentage": "101"}, "container-concurrency-target-percentage = 1.010000 is outside of valid range of (0, 100]"},
		{map[string]string{"container-concurrency-target-percentage": "0.5", "container-concurrency-target-default": "0.01"}, "container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency of 0.005, can't be less than 0.01"},
		{map[string]string{"requests-per-second-target-default": "0"}, "requests-per-second-target-default must be at least 0.01, was: 0"},
		{map[string]string{"activator-capacity": "0.5"}, "activator-capacity = 0.5, must be at least 1"},
		{map[string]string{"max-scale-up-rate": "1"}, "max-scale-up-rate = 1, must be greater than 1.0"},
		{map[string]string{"max-scale-down-rate": "0.5"}, "max-scale-down-rate = 0.5, must be greater than 1.0"},
		{map[string]string{"stable-window": "5s"}, "stable-window = 5s, must be in [6s; 1h0m0s] range"},
		{map[string]string{"stable-window": "2h"}, "stable-window = 2h0m0s, must be in [6s; 1h0m0s] range"},
		{map[string]string{"stable-window": "6500ms"}, "stable-window = 6.5s, must be specified with at most second precision"},
		{map[string]string{"panic-window-percentage": "0.5"}, "panic-window-percentage = 0.5, must be in [1, 100] interval"},
		{map[string]string{"initial-scale": "0"}, "initial-scale = 0, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)"},
		{map[string]string{"initial-scale": "-1", "allow-zero-initial-scale": "true"}, "initial-scale = -1, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)"},
		{map[string]string{"min-scale": "-1"}, "min-scale = -1, must be at least 0"},
		{map[string]string{"max-scale": "-1"}, "max-scale = -1, must be in [0, max-scale-limit(0)] range"},
		{map[string]string{"max-scale-limit": "10"}, "max-scale = 0, must be in [1, max-scale-limit(10)] range"},
		{map[string]string{"max-scale-limit": "10", "max-scale": "11"}, "max-scale = 11, must be in [1, max-scale-limit(10)] range"},
		{map[string]string{"max-scale-limit": "-1"}, "max-scale-limit = -1, must be at least 0"},
		{map[string]string{"min-scale": "5", "max-scale": "4"}, "min-scale (5) must be less than max-scale (4)"},
	}
	for _, tt := range tests {
		_, err := NewConfigFromMap(tt.data)
		if err == nil {
			t.Errorf("%v: no error, want %q", tt.data, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.data, err.Error(), tt.want)
		}
	}
}

func TestUpdaterKeepsPreviousOnError(t *testing.T) {
	u := NewUpdater(nil)
	if diff := cmp.Diff(DefaultConfig(), u.Current()); diff != "" {
		t.Fatalf("initial (-want +got):\n%s", diff)
	}
	good, err := u.Update(map[string]string{"stable-window": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	if good.StableWindow != 30*time.Second || u.Current() != good {
		t.Fatalf("good update not in force: %+v", u.Current())
	}
	kept, err := u.Update(map[string]string{"stable-window": "1s", "max-scale-up-rate": "5"})
	if err == nil {
		t.Fatal("bad update accepted")
	}
	if want := "config-autoscaler: stable-window = 1s, must be in [6s; 1h0m0s] range"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if kept != good || u.Current() != good {
		t.Errorf("bad update replaced the configuration: %+v", u.Current())
	}
}
