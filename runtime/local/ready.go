package local

import (
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Readiness is a revision's Ready condition as the local runtime sees it,
// in the terms of Knative's Revision: Ready is True once a pod of the
// revision was ready (it stays True at zero pods), False with a Reason
// and a Message when the revision cannot serve, Unknown while its first
// pod is on its way.
type Readiness struct {
	Ready   corev1.ConditionStatus
	Reason  string
	Message string
}

// Reasons a revision is not ready, as Knative and the kubelet name them
// (an exit reads "ExitCode<N>", see ExitCodeReason; a ko:// image that
// does not build is ebb's own ReasonBuildFailed).
const (
	// ReasonCrashLoopBackOff: a revision that was ready has no ready pod,
	// and a container exited again before it was ready since its last
	// exit; it is restarted with back-off.
	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	// ReasonCreateContainerConfigError: the pod's spec cannot be turned
	// into a process here (an env reference that names nothing, an image
	// without a command that is not ko://, two user containers).
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	// ReasonCreateContainerError: what the pod needs around its process
	// (a port, its queue-proxy) could not be made.
	ReasonCreateContainerError = "CreateContainerError"
)

// ExitCodeReason is the reason of a container that exited with code, as
// Knative reports it: "ExitCode1". A program that cannot be started (a
// missing executable) is ExitCode128, as containerd reports a start
// error.
func ExitCodeReason(code int) string { return fmt.Sprint("ExitCode", code) }

// exitMessage is Knative's message for a container that exited.
func exitMessage(e Exit) string {
	msg := e.Output
	switch {
	case msg != "":
	case e.Code == 0:
		msg = "container exited with no error"
	case e.Err != nil:
		msg = e.Err.Error()
	}
	return "Container failed with: " + msg
}

// buildMessageLines is how much of a failed build a message keeps.
const buildMessageLines = 10

// reasoned is an error that names the reason a revision that meets it is
// not ready for (BuildError, reasonError).
type reasoned interface {
	error
	Reason() string
}

// reasonError is an error with a reason, and the condition's message
// for it.
type reasonError struct {
	reason  string
	message string
	err     error
}

func (e *reasonError) Error() string  { return e.err.Error() }
func (e *reasonError) Unwrap() error  { return e.err }
func (e *reasonError) Reason() string { return e.reason }

// withReason gives err a reason; the message is err's text.
func withReason(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &reasonError{reason: reason, message: err.Error(), err: err}
}

// buildFailed is a ko:// build that failed: the message keeps its first
// lines, where the compiler names the first errors.
func buildFailed(err error) error {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) > buildMessageLines {
		lines = append(lines[:buildMessageLines], "…")
	}
	return &reasonError{reason: ReasonBuildFailed, message: strings.Join(lines, "\n"), err: err}
}

// startFailed is a user container that could not be started.
func startFailed(err error) error {
	return &reasonError{reason: ExitCodeReason(startErrorCode), message: exitMessage(Exit{Err: err, Code: startErrorCode}), err: err}
}

// failure is the reason and message of an error that keeps a pod or a
// revision from running; an error without a reason of its own is
// CreateContainerError.
func failure(err error) Readiness {
	c := Readiness{Ready: corev1.ConditionFalse, Reason: ReasonCreateContainerError, Message: err.Error()}
	if r, ok := errors.AsType[reasoned](err); ok {
		c.Reason = r.Reason()
	}
	if re, ok := errors.AsType[*reasonError](err); ok {
		c.Message = re.message
	}
	return c
}

// podState is what a revision's condition reads of one of its pods.
type podState struct {
	name  string
	ready bool
	// err is why the pod could not start.
	err error
	// exits counts its container's exits since it was last ready; last is
	// the latest of them.
	exits int
	last  Exit
}

// readiness decides a revision's Ready condition from its pods (in the
// order they were made), the pods it wants, whether one of its pods was
// ever ready and the condition it had before. Like Knative's revision
// reconciler it reads the first pod that fails: one that could not start;
// a container that exited before the revision was ever ready (False at
// once, ExitCode<N>); a container that keeps exiting before it is ready
// again, in a revision that was ready (CrashLoopBackOff). A revision that
// was False stays so, also once its pods are gone, until a pod is ready.
// It is pure.
func readiness(container string, want int32, everReady bool, pods []podState, prev Readiness) Readiness {
	for _, p := range pods {
		if p.ready {
			return Readiness{Ready: corev1.ConditionTrue}
		}
	}
	for _, p := range pods {
		switch {
		case p.err != nil:
			return failure(p.err)
		case p.exits > 0 && !everReady:
			return Readiness{Ready: corev1.ConditionFalse, Reason: ExitCodeReason(p.last.Code), Message: exitMessage(p.last)}
		case p.exits > 1:
			return Readiness{Ready: corev1.ConditionFalse, Reason: ReasonCrashLoopBackOff, Message: crashLoopMessage(container, p.name, p.last)}
		}
	}
	switch {
	case prev.Ready == corev1.ConditionFalse:
		return prev
	case everReady || want == 0:
		return Readiness{Ready: corev1.ConditionTrue}
	}
	return Readiness{Ready: corev1.ConditionUnknown}
}

// crashLoopMessage is the kubelet's message for a container in
// CrashLoopBackOff, with the last exit's reason and message after it.
func crashLoopMessage(container, pod string, last Exit) string {
	next := "not restarted: the revision is retired"
	if !last.Final {
		next = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", last.Backoff.Round(time.Second), container, pod)
	}
	return next + "; last exit: " + ExitCodeReason(last.Code) + ": " + exitMessage(last)
}
