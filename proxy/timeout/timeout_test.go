package timeout

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

func TestServe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limits   Limits
		handler  func(w http.ResponseWriter, r *http.Request)
		wantCode int
		wantBody string
		wantCut  bool
	}{
		{"total fires before a write", Limits{Total: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, 504, "timed out", false},
		{"fast handler", Limits{Total: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}, 200, "ok", false},
		{"total after the first byte keeps the status and cuts", Limits{Total: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			<-r.Context().Done()
			if _, err := io.WriteString(w, "more"); err == nil {
				panic("write after timeout succeeded")
			}
		}, 200, "partial", true},
		{"response start", Limits{Total: time.Hour, ResponseStart: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, 504, "timed out", false},
		{"response start met, then slow", Limits{Total: 10 * time.Second, ResponseStart: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
				io.WriteString(w, "b")
			}
		}, 200, "ab", false},
		{"idle between writes", Limits{Total: time.Hour, Idle: time.Second}, func(w http.ResponseWriter, r *http.Request) {
			for range 3 {
				time.Sleep(500 * time.Millisecond)
				io.WriteString(w, "x")
			}
			<-r.Context().Done()
		}, 200, "xxx", true},
		{"no limits", Limits{}, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Hour)
			io.WriteString(w, "late")
		}, 200, "late", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				cut := false
				Serve(rec, req, tc.limits, "timed out", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tc.handler(w, r)
					cut = TimedOut(r.Context())
				}))
				if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody || (cut && tc.wantCode != 504) != tc.wantCut {
					t.Errorf("got %d %q cut=%v, want %d %q cut=%v", rec.Code, rec.Body.String(), cut, tc.wantCode, tc.wantBody, tc.wantCut)
				}
			})
		})
	}
}
