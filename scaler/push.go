package scaler

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/ebb-dev/ebb/scaler/metric"
)

// maxPushBody bounds one POST of stats.
const maxPushBody = 8 << 20

// Handler accepts stats pushed by activators: POST a JSON array of
// metric.Message (mount it at metric.PushPath). It answers 204 on
// success, 400 for a body that is not such an array, 405 for other
// methods and 413 for bodies over 8 MiB.
func (a *Autoscaler) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var msgs []metric.Message
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxPushBody))
		if err := dec.Decode(&msgs); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "stats body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "decode stats: "+err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			http.Error(w, "decode stats: trailing data after the array", http.StatusBadRequest)
			return
		}
		a.Record(msgs)
		w.WriteHeader(http.StatusNoContent)
	})
}
