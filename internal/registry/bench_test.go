package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// evolvingSchema is version n of a record that gains one optional field per
// version, so each is a BACKWARD-compatible new version of the previous.
func evolvingSchema(n int) string {
	var f strings.Builder
	f.WriteString(`{"name":"id","type":"string"}`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&f, `,{"name":"f%d","type":["null","string"],"default":null}`, i)
	}
	return `{"type":"record","name":"Evolving","namespace":"bench","fields":[` + f.String() + `]}`
}

func post(b *testing.B, c *http.Client, url, body string) []byte {
	resp, err := c.Post(url, ContentType, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", url, resp.StatusCode, out)
	}
	return out
}

// BenchmarkGetSchemaByID measures GET /schemas/ids/{id} over real HTTP
// against a registry on a real meta store: parallel clients, each on its
// own keep-alive connection, send a request and read its answer. The
// clients write raw HTTP/1.1 and parse only the status line and
// Content-Length, so the CPU goes to the server (net/http and the handler),
// as it would with the serializers in other processes. Target: ≥ 10,000/s.
func BenchmarkGetSchemaByID(b *testing.B) {
	tr := openTestRegistry(&testing.T{}, b.TempDir())
	defer tr.close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const ids = 20
	for i := 0; i < ids; i++ {
		body, _ := json.Marshal(RegisterRequest{Schema: evolvingSchema(i)})
		post(b, client, fmt.Sprintf("%s/subjects/s%d/versions", tr.srv.URL, i), string(body))
	}
	addr := strings.TrimPrefix(tr.srv.URL, "http://")
	var n atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 8192)
		body := make([]byte, 8192)
		var reqBuf []byte
		for pb.Next() {
			id := n.Add(1)%ids + 1
			reqBuf = append(reqBuf[:0], "GET /schemas/ids/"...)
			reqBuf = strconv.AppendInt(reqBuf, id, 10)
			reqBuf = append(reqBuf, " HTTP/1.1\r\nHost: registry\r\n\r\n"...)
			if _, err := conn.Write(reqBuf); err != nil {
				b.Error(err)
				return
			}
			status, length, err := readResponseHead(br)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(br, body[:length]); err != nil {
				b.Error(err)
				return
			}
			if status != 200 || !bytes.Contains(body[:length], []byte("Evolving")) {
				b.Errorf("id %d: %d %s", id, status, body[:length])
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
	// The process's CPU (clients and server) per request: on a busy
	// machine gets/s measures the share of the CPU the benchmark got; this
	// does not.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/get")
}

// readResponseHead reads an HTTP/1.1 response's status line and headers
// and returns the status and Content-Length.
func readResponseHead(br *bufio.Reader) (status, length int, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	if len(line) < 12 {
		return 0, 0, fmt.Errorf("short status line %q", line)
	}
	status, _ = strconv.Atoi(string(line[9:12]))
	length = -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 || length > 8192 {
		return 0, 0, fmt.Errorf("content length %d", length)
	}
	return status, length, nil
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRegisterBackward measures registrations of new versions under
// BACKWARD over real HTTP: each parses the schema, checks it against the
// subject's latest version and is fsynced to the meta store before it is
// answered. Concurrent clients each evolve their own subject, ten versions
// (records of 1 to 10 fields) and then a fresh subject, and share group
// commits. Target: ≥ 500/s.
func BenchmarkRegisterBackward(b *testing.B) {
	tr := openTestRegistry(&testing.T{}, b.TempDir())
	defer tr.close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const versions = 10
	var bodies [versions]string
	for i := range bodies {
		body, _ := json.Marshal(RegisterRequest{Schema: evolvingSchema(i)})
		bodies[i] = string(body)
	}
	var subject atomic.Int64
	b.ResetTimer()
	b.SetParallelism(16) // 16 × GOMAXPROCS clients, each on its own subjects
	b.RunParallel(func(pb *testing.PB) {
		var url string
		for v := 0; pb.Next(); v++ {
			if v%versions == 0 {
				url = fmt.Sprintf("%s/subjects/evolving-%d/versions", tr.srv.URL, subject.Add(1))
			}
			post(b, client, url, bodies[v%versions])
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}

// BenchmarkGetSchemaByIDHandler is BenchmarkGetSchemaByID without the
// network: the handler's own cost per request.
func BenchmarkGetSchemaByIDHandler(b *testing.B) {
	tr := openTestRegistry(&testing.T{}, b.TempDir())
	defer tr.close()
	h := Handler(tr.r)
	id, err := tr.r.Register("s", RegisterRequest{Schema: evolvingSchema(5)})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("/schemas/ids/%d", id), nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatal(w.status)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
