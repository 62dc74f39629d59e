package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testServer struct {
	*Server
	reg  *prometheus.Registry
	logs *bytes.Buffer
	base string
}

func startServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &bytes.Buffer{}
	cfg := Config{
		Addr:       "127.0.0.1:0",
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Registerer: reg,
		Gatherer:   reg,
		Version:    "v-test",
		DataDir:    "/data",
		StartedAt:  time.Now().Add(-time.Minute),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: s, reg: reg, logs: logs, base: "http://" + s.Addr().String()}
}

func (ts *testServer) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(ts.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	ts := startServer(t, nil)
	if code, body := ts.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := ts.get(t, "/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Errorf("/readyz before ready = %d %q", code, body)
	}
	ts.MarkReady()
	if code, _ := ts.get(t, "/readyz"); code != 200 {
		t.Errorf("/readyz after MarkReady = %d", code)
	}
	ts.MarkNotReady("shutting down")
	if code, body := ts.get(t, "/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz after MarkNotReady = %d %q", code, body)
	}
}

func TestRequestMetricsCountEveryRequest(t *testing.T) {
	ts := startServer(t, nil)
	ts.Handle("GET /v1/fail", func(http.ResponseWriter, *http.Request) error { return ErrNotFound })
	for range 3 {
		ts.get(t, "/healthz")
	}
	for range 2 {
		ts.get(t, "/v1/fail")
	}
	ts.get(t, "/no/such/path")
	ts.get(t, "/no/such/path/either")

	// A scrape of /metrics must show exactly the requests made.
	_, body := ts.get(t, "/metrics")
	for _, want := range []string{
		`eddy_http_requests_total{code="200",route="GET /healthz"} 3`,
		`eddy_http_requests_total{code="404",route="GET /v1/fail"} 2`,
		`eddy_http_requests_total{code="404",route="unmatched"} 2`,
		`eddy_http_request_duration_seconds_count{route="GET /healthz"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUnmatchedRoutesAnswerJSON(t *testing.T) {
	ts := startServer(t, nil)
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/no/such/path", 404, "not_found"},
		{"POST", "/healthz", 405, "method_not_allowed"},
	} {
		req, _ := http.NewRequest(tt.method, ts.base+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var eb ErrorBody
		err = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tt.status || eb.Error.Code != tt.code || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q (%v, %s), want %d %q JSON", tt.method, tt.path, resp.StatusCode, eb.Error.Code, err, resp.Header.Get("Content-Type"), tt.status, tt.code)
		}
		if tt.status == 405 && !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Errorf("405 lacks Allow: %q", resp.Header.Get("Allow"))
		}
	}
}

func TestErrorTable(t *testing.T) {
	ts := startServer(t, nil)
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{BadRequest("limit", "must be positive, got %d", -1), 400, "bad_request"},
		{fmt.Errorf("topic %q: %w", "x", ErrNotFound), 404, "not_found"},
		{fmt.Errorf("create: %w", ErrConflict), 409, "conflict"},
		{ErrNotReady, 503, "not_ready"},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), 504, "timeout"},
		{&http.MaxBytesError{Limit: 10}, 413, "request_too_large"},
		{errors.New("disk on fire"), 500, "internal"},
	}
	for i, tt := range tests {
		path := fmt.Sprintf("/test/%d", i)
		ts.Handle("GET "+path, func(http.ResponseWriter, *http.Request) error { return tt.err })
		code, body := ts.get(t, path)
		var eb ErrorBody
		if err := json.Unmarshal([]byte(body), &eb); err != nil {
			t.Fatalf("%v: body %q is not an ErrorBody: %v", tt.err, body, err)
		}
		if code != tt.status || eb.Error.Code != tt.code {
			t.Errorf("%v: got %d %s, want %d %s", tt.err, code, eb.Error.Code, tt.status, tt.code)
		}
		if tt.status == 500 {
			if strings.Contains(body, "disk on fire") {
				t.Errorf("internal error text leaked to the client: %s", body)
			}
			if !strings.Contains(ts.logs.String(), "disk on fire") {
				t.Errorf("internal error not logged: %s", ts.logs.String())
			}
		} else if eb.Error.Message != tt.err.Error() {
			t.Errorf("message = %q, want %q", eb.Error.Message, tt.err.Error())
		}
	}
}

func TestStatus(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Topics = func(context.Context) ([]TopicStatus, error) {
			return []TopicStatus{{Name: "orders", Partitions: 3, Bytes: 300, Records: 7}, {Name: "audit", Partitions: 1, Bytes: 12, Records: 1}}, nil
		}
		c.Groups = func(context.Context) ([]GroupStatus, error) {
			return []GroupStatus{{Group: "billing", State: "Stable", Members: 2, Lag: 5}}, nil
		}
		c.Listeners = func() map[string]string { return map[string]string{"kafka": "127.0.0.1:9092"} }
	})
	ts.MarkReady()
	code, body := ts.get(t, "/v1/status")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	// The data directory is not shown to unauthenticated clients.
	if st.Version != "v-test" || st.DataDir != "" || strings.Contains(body, "/data") || !st.Ready || st.UptimeSeconds < 59 {
		t.Errorf("header fields wrong: %+v", st)
	}
	if st.TopicCount != 2 || st.PartitionCount != 4 || st.BytesStored != 312 {
		t.Errorf("totals = %d topics %d partitions %d bytes, want 2 4 312", st.TopicCount, st.PartitionCount, st.BytesStored)
	}
	if st.Topics[0].Name != "audit" || len(st.Groups) != 1 || st.Groups[0].Lag != 5 || st.Listeners["kafka"] != "127.0.0.1:9092" {
		t.Errorf("topics/groups/listeners wrong: %+v", st)
	}
}

func TestStatusSourceErrorIsInternal(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Topics = func(context.Context) ([]TopicStatus, error) { return nil, errors.New("meta store closed") }
	})
	if code, _ := ts.get(t, "/v1/status"); code != 500 {
		t.Errorf("status = %d, want 500", code)
	}
}

func TestNewRequiresLoggerAndRegistry(t *testing.T) {
	if _, err := New(Config{Addr: ":0"}); err == nil {
		t.Error("New without Logger succeeded")
	}
	reg := prometheus.NewRegistry()
	cfg := Config{Addr: ":0", Logger: slog.New(slog.DiscardHandler), Registerer: reg, Gatherer: reg}
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Error("second New on the same registry succeeded; duplicate metrics should be refused")
	}
}
