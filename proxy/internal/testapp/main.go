// Command testapp is the user container ebb's proxy tests run as a real
// process: it sleeps, streams, echoes, upgrades to WebSocket, speaks h2c and
// counts how many requests it serves at once.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	name := flag.String("name", "app", "name returned by /name")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	a := &app{name: *name}
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: a.mux(), Protocols: p}
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type app struct {
	name     string
	inflight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
}

func ms(r *http.Request, key string) time.Duration {
	n, _ := strconv.Atoi(r.URL.Query().Get(key))
	return time.Duration(n) * time.Millisecond
}

func (a *app) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/name", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, a.name) })
	m.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"proto": r.Proto, "host": r.Host, "header": r.Header, "name": a.name})
	})
	m.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		n := a.inflight.Add(1)
		for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
		}
		defer a.inflight.Add(-1)
		select {
		case <-time.After(ms(r, "ms")):
		case <-r.Context().Done():
		}
		io.WriteString(w, "slept")
	})
	// /status?code=N&ms=M: answers status N (200 without one) after M ms.
	m.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(ms(r, "ms")):
		case <-r.Context().Done():
		}
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(max(code, http.StatusOK))
		io.WriteString(w, "status")
	})
	m.HandleFunc("/peak", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, a.peak.Swap(0))
	})
	// /stream?first=ms&n=N&every=ms: the first byte after first, then n
	// lines, one every "every", each flushed.
	m.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(ms(r, "first"))
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		for i := range n {
			if i > 0 {
				time.Sleep(ms(r, "every"))
			}
			if _, err := fmt.Fprintf(w, "line %d\n", i); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	})
	// /duplex echoes each chunk of the request body as it arrives (HTTP/2).
	m.HandleFunc("/duplex", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.EnableFullDuplex()
		w.Header().Set("X-Proto", r.Proto)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
	m.HandleFunc("/ws", serveWebSocket)
	m.HandleFunc("/grpc.health.v1.Health/Check", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		msg := []byte{0x08, 0x01} // status: SERVING
		frame := make([]byte, 5)
		binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
		w.Write(append(frame, msg...))
		w.Header().Set("Grpc-Status", "0")
	})
	return m
}

// serveWebSocket completes the RFC 6455 handshake, then echoes raw bytes.
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "want websocket", http.StatusBadRequest)
		return
	}
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(h[:]))
	brw.Flush()
	echo(brw.Reader, conn)
}

func echo(r *bufio.Reader, w io.Writer) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
