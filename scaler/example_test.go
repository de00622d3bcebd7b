package scaler_test

import (
	"fmt"
	"time"

	"github.com/ebb-dev/ebb/scaler"
	"github.com/ebb-dev/ebb/scaler/autoscaling"
)

// A revision with containerConcurrency 10 at the default 70 % utilization
// (7 requests per pod) sees 100 concurrent requests.
func ExampleDecide() {
	spec := autoscaling.NewDeciderSpec(autoscaling.DefaultConfig(), nil, 10, true)
	now := time.Unix(1_700_000_000, 0)
	state := scaler.NewDeciderState(spec, 1, now)
	for range 3 {
		now = now.Add(autoscaling.TickInterval)
		var d scaler.Decision
		d, state = scaler.Decide(spec, scaler.Observation{Stable: 100, Panic: 100, ReadyPods: 1}, state, now)
		fmt.Println(d.DesiredScale, d.Panicking, d.ExcessBurstCapacity)
	}
	// Output:
	// 15 true -301
	// 15 true -301
	// 15 true -301
}

func ExampleReconcile() {
	spec := scaler.NewScaleSpec(autoscaling.DefaultConfig(), nil, 0, true, 0)
	now := time.Unix(1_700_000_000, 0)
	state := scaler.NewScaleState(now)
	act, state := scaler.Reconcile(spec, scaler.ScaleInput{Desired: 3, EBC: 89, Ready: 1, Replicas: 1}, state, now)
	fmt.Println(act.Apply, act.Replicas, act.Mode, act.Activators, state.Activity)
	// Output: true 3 serve 4 Active
}
