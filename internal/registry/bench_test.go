package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
// (keep-alive connections, one per parallel client) against a registry on
// a real meta store. Target: ≥ 10,000/s.
func BenchmarkGetSchemaByID(b *testing.B) {
	tr := openTestRegistry(&testing.T{}, b.TempDir())
	defer tr.close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	const ids = 20
	for i := 0; i < ids; i++ {
		body, _ := json.Marshal(RegisterRequest{Schema: evolvingSchema(i)})
		post(b, client, fmt.Sprintf("%s/subjects/s%d/versions", tr.srv.URL, i), string(body))
	}
	var n atomic.Int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 4096)
		for pb.Next() {
			id := n.Add(1)%ids + 1
			resp, err := client.Get(fmt.Sprintf("%s/schemas/ids/%d", tr.srv.URL, id))
			if err != nil {
				b.Error(err)
				return
			}
			m, _ := io.ReadFull(resp.Body, buf)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(buf[:m], []byte("Evolving")) {
				b.Errorf("id %d: %d", id, resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
	// The process's CPU (client and server) per request: on a busy machine
	// gets/s measures the share of the CPU the benchmark got; this does not.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/get")
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
// answered. Concurrent clients each evolve their own subject and share
// group commits. Target: ≥ 500/s.
func BenchmarkRegisterBackward(b *testing.B) {
	tr := openTestRegistry(&testing.T{}, b.TempDir())
	defer tr.close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	bodies := make([]string, b.N+1)
	for i := range bodies {
		body, _ := json.Marshal(RegisterRequest{Schema: evolvingSchema(i)})
		bodies[i] = string(body)
	}
	var subject atomic.Int64
	b.ResetTimer()
	b.SetParallelism(8) // 8 × GOMAXPROCS clients, each on its own subject
	b.RunParallel(func(pb *testing.PB) {
		url := fmt.Sprintf("%s/subjects/evolving-%d/versions", tr.srv.URL, subject.Add(1))
		for v := 0; pb.Next(); v++ {
			post(b, client, url, bodies[v])
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
