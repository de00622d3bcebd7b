package transport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Outbound is how a proxy rewrites an inbound request for the next hop on
// Forward's path. Hop-by-hop fields, the fields Connection names,
// Content-Length, Forwarded and X-Forwarded-* are never forwarded.
type Outbound struct {
	// Addr is the next hop, host:port.
	Addr string
	// Host is the Host header sent; empty sends Addr.
	Host string
	// Drop names more inbound fields (in canonical form) not forwarded.
	Drop []string
	// DropPrefix drops the inbound fields whose names start with it (ASCII
	// case-insensitive) and are longer; empty drops none.
	DropPrefix string
	// Add are fields sent after the inbound ones.
	Add []Field
}

// Field is one header field.
type Field struct{ Key, Value string }

// Forwardable reports whether Forward can send r, an inbound server
// request: HTTP/1 without a body, without an upgrade and with an
// idempotent method (what Serial takes).
func Forwardable(r *http.Request) bool {
	return r.ProtoMajor == 1 && bodilessIdempotent(r)
}

// SerialOf returns the Serial path of rt when rt is an Auto transport with
// one, or nil: only then may a proxy Forward.
func SerialOf(rt http.RoundTripper) *Serial {
	if a, ok := rt.(*Auto); ok {
		return a.Serial
	}
	return nil
}

// Forward proxies r, which Forwardable accepts, to the next hop o over a
// kept-alive connection and copies the response to w, all on the caller's
// goroutine. It does what an httputil.ReverseProxy with a Rewrite does for
// such a request (hop-by-hop fields dropped both ways, 1xx responses
// relayed, streams and event streams flushed after every write, trailers
// copied, a failed body copy aborts the response with
// http.ErrAbortHandler) without cloning the request: the request line and
// fields are written straight to the connection, the response fields are
// handed to w as they were read. It returns an error when no response
// arrived; nothing was written to w then, and the caller answers.
func (s *Serial) Forward(w http.ResponseWriter, r *http.Request, o *Outbound) error {
	host := o.Host
	if host == "" {
		host = o.Addr
	}
	if !httpguts.ValidHostHeader(host) {
		return fmt.Errorf("http: invalid Host header %q", host)
	}
	write := func(bw *bufio.Writer) error { writeRequest(bw, r, host, o); return nil }
	got1xx := func(code int, h textproto.MIMEHeader) error {
		dst := w.Header()
		for k, vv := range h {
			dst[k] = append(dst[k], vv...)
		}
		w.WriteHeader(code)
		clear(dst) // WriteHeader keeps the fields of a 1xx response
		return nil
	}
	var resp *http.Response
	var err error
	for {
		resp, err = s.exchange(r.Context(), o.Addr, write, r, got1xx)
		if !errors.Is(err, errStale) {
			break
		}
	}
	if err != nil {
		return err
	}
	copyResponse(w, r, resp)
	return nil
}

// writeRequest writes the request line and fields of r's outbound copy.
func writeRequest(bw *bufio.Writer, r *http.Request, host string, o *Outbound) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(requestURI(r.URL))
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		if !forwarded(k, conn, o) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		// The client can take trailers: tell the backend (as
		// httputil.ReverseProxy does).
		bw.WriteString("Te: trailers\r\n")
	}
	for _, f := range o.Add {
		writeField(bw, f.Key, f.Value)
	}
	bw.WriteString("\r\n")
}

// forwarded reports whether the inbound field k goes to the next hop.
func forwarded(k string, conn []string, o *Outbound) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return false
	}
	for _, d := range o.Drop {
		if k == d {
			return false
		}
	}
	if p := o.DropPrefix; p != "" && len(k) > len(p) && strings.EqualFold(k[:len(p)], p) {
		return false
	}
	for _, v := range conn {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), k) {
				return false
			}
		}
	}
	return true
}

// writeField writes one field; a CR or LF in the value (never in what the
// server parsed) becomes a space, as http.Request.Write does.
func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// requestURI is the outbound request target: the inbound one, with the
// query's unparsable parameters removed (as httputil.ReverseProxy does).
func requestURI(u *url.URL) string {
	q := cleanQuery(u.RawQuery)
	if q == u.RawQuery {
		return u.RequestURI()
	}
	c := *u
	c.RawQuery = q
	return c.RequestURI()
}

// maxQueryParams is net/url's default limit on query parameters.
const maxQueryParams = 10000

// cleanQuery re-encodes a query that url.ParseQuery would not take whole
// (a ';', a bad escape, too many parameters), dropping what it cannot
// parse.
func cleanQuery(s string) string {
	reencode := func() string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	if strings.Count(s, "&")+1 > maxQueryParams {
		return reencode()
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode()
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return reencode()
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// copyResponse copies resp to w: fields without the hop-by-hop ones, the
// status, the body (flushed after every write when it is a stream) and
// the trailers.
func copyResponse(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	h := resp.Header
	for _, v := range h["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = textproto.TrimString(t); t != "" {
				h.Del(t)
			}
		}
	}
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
	dst := w.Header()
	for k, vv := range h {
		if old, ok := dst[k]; ok {
			dst[k] = append(old, vv...)
		} else {
			dst[k] = vv
		}
	}
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(resp.StatusCode)
	stream := resp.ContentLength == -1 || isEventStream(h["Content-Type"])
	if err := copyBody(w, resp.Body, stream); err != nil {
		resp.Body.Close()
		if r.Context().Value(http.ServerContextKey) != nil {
			// Under a server, which recovers it: the client sees the
			// response cut short rather than complete.
			panic(http.ErrAbortHandler)
		}
		return
	}
	resp.Body.Close() // fills resp.Trailer
	if len(resp.Trailer) == 0 {
		return
	}
	// Chunked: no Content-Length computed for a short body.
	http.NewResponseController(w).Flush()
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			dst[k] = append(dst[k], vv...)
		}
		return
	}
	for k, vv := range resp.Trailer {
		dst[http.TrailerPrefix+k] = append(dst[http.TrailerPrefix+k], vv...)
	}
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	base, _, _ := strings.Cut(ct[0], ";")
	return strings.EqualFold(strings.TrimSpace(base), "text/event-stream")
}

// copyBody copies a response body to w with a pooled buffer; a stream's
// fields go out at once and each write is flushed. It returns write errors
// and read errors other than EOF.
func copyBody(w http.ResponseWriter, body io.Reader, stream bool) error {
	if body == http.NoBody {
		return nil
	}
	var flush func() error
	if stream {
		flush = http.NewResponseController(w).Flush
		flush()
	}
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if werr != nil {
				return werr
			}
			if m != n {
				return io.ErrShortWrite
			}
			if flush != nil {
				flush()
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}
