package local

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestReadiness(t *testing.T) {
	boom := Exit{Err: errors.New("exit status 1"), Code: 1, Output: "boom", Backoff: 20 * time.Second}
	clean := Exit{Code: 0}
	silent := Exit{Err: errors.New("signal: killed"), Code: 137}
	retired := boom
	retired.Final = true
	buildErr := buildFailed(errors.New("build ko://example.test/app: exit status 1\n# example.test/app\n./main.go:5:2: undefined: nope"))
	exited := Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode1", Message: "Container failed with: boom"}
	for _, tc := range []struct {
		name      string
		want      int32
		everReady bool
		pods      []podState
		prev      Readiness
		ready     Readiness
	}{
		{"first pod on its way", 1, false, []podState{{name: "a-1"}}, Readiness{},
			Readiness{Ready: corev1.ConditionUnknown}},
		{"no pod wanted yet", 0, false, nil, Readiness{},
			Readiness{Ready: corev1.ConditionTrue}},
		{"a ready pod", 2, false, []podState{{name: "a-1", exits: 3, last: boom}, {name: "a-2", ready: true}}, Readiness{},
			Readiness{Ready: corev1.ConditionTrue}},
		{"scaled to zero after serving", 0, true, nil, Readiness{},
			Readiness{Ready: corev1.ConditionTrue}},
		{"exit before ever ready", 1, false, []podState{{name: "a-1", exits: 1, last: boom}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode1", Message: "Container failed with: boom"}},
		{"clean exit before ever ready", 1, false, []podState{{name: "a-1", exits: 1, last: clean}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode0", Message: "Container failed with: container exited with no error"}},
		{"killed without a word", 1, false, []podState{{name: "a-1", exits: 1, last: silent}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode137", Message: "Container failed with: signal: killed"}},
		{"one exit after serving", 1, true, []podState{{name: "a-1", exits: 1, last: boom}}, Readiness{},
			Readiness{Ready: corev1.ConditionTrue}},
		{"keeps exiting after serving", 1, true, []podState{{name: "a-1", exits: 2, last: boom}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: ReasonCrashLoopBackOff,
				Message: "back-off 20s restarting failed container=user-container pod=a-1; last exit: ExitCode1: Container failed with: boom"}},
		{"retired, not restarted", 1, true, []podState{{name: "a-1", exits: 2, last: retired}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: ReasonCrashLoopBackOff,
				Message: "not restarted: the revision is retired; last exit: ExitCode1: Container failed with: boom"}},
		{"build failed", 1, false, []podState{{name: "a-1", err: buildErr}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: ReasonBuildFailed,
				Message: "build ko://example.test/app: exit status 1\n# example.test/app\n./main.go:5:2: undefined: nope"}},
		{"no module provides the image", 1, false, []podState{{name: "a-1", err: &BuildError{Err: errors.New("service.yaml:9: no Go module here provides this package")}}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: ReasonBuildFailed, Message: "service.yaml:9: no Go module here provides this package"}},
		{"missing program", 1, false, []podState{{name: "a-1", err: startFailed(errors.New(`command: "nope": executable file not found in $PATH`))}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode128",
				Message: `Container failed with: command: "nope": executable file not found in $PATH`}},
		{"no port", 1, false, []podState{{name: "a-1", err: errors.New("no free port in 20000-32000")}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: ReasonCreateContainerError, Message: "no free port in 20000-32000"}},
		{"failed, then scaled to zero", 0, false, nil, exited, exited},
		{"failed, a new pod on its way", 1, false, []podState{{name: "a-2"}}, exited, exited},
		{"failed, then a pod ready", 1, false, []podState{{name: "a-2", ready: true}}, exited,
			Readiness{Ready: corev1.ConditionTrue}},
		{"the first failing pod speaks", 2, false, []podState{{name: "a-1"}, {name: "a-2", exits: 1, last: silent}, {name: "a-3", exits: 1, last: boom}}, Readiness{},
			Readiness{Ready: corev1.ConditionFalse, Reason: "ExitCode137", Message: "Container failed with: signal: killed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readiness("user-container", tc.want, tc.everReady, tc.pods, tc.prev)
			if diff := cmp.Diff(tc.ready, got); diff != "" {
				t.Errorf("readiness (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildFailedKeepsTheFirstLines(t *testing.T) {
	var lines []string
	for i := range 30 {
		lines = append(lines, fmt.Sprintf("./main.go:%d:1: error %d", i, i))
	}
	err := buildFailed(errors.New(strings.Join(lines, "\n")))
	got := failure(err)
	want := Readiness{Ready: corev1.ConditionFalse, Reason: ReasonBuildFailed,
		Message: strings.Join(append(lines[:buildMessageLines:buildMessageLines], "…"), "\n")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
	if err.Error() != strings.Join(lines, "\n") {
		t.Error("the error's own text changed")
	}
}
