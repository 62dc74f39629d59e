package clients

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// viewSource fills topic "orders" (2 partitions, zstd batches) with records
// that views select from: a mixed head, a long stretch matching nothing,
// a mixed middle and a trailing stretch matching nothing, so a client
// must follow the empty batches that cover the stretches. It returns the
// records as the lines the consumers print.
type viewRec struct {
	p         int32
	o         int64
	key, val  string
	typ, seq  string
	total     int
	cancelled bool
}

func (r viewRec) line() string {
	return fmt.Sprintf("%d %d %s %s ce_type=%s,seq=%s", r.p, r.o, r.key, r.val, r.typ, r.seq)
}

type viewData struct {
	s    *eddytest.Process
	cl   *kgo.Client
	recs []viewRec
	next map[int32]int64
	n    int
}

func newViewData(t *testing.T, s *eddytest.Process) *viewData {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.KafkaAddr()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &viewData{s: s, cl: cl, next: map[int32]int64{}}
}

// produce writes n records to each partition; noise makes none of them
// match either view.
func (d *viewData) produce(t *testing.T, n int, noise bool) {
	t.Helper()
	var krs []*kgo.Record
	for p := int32(0); p < 2; p++ {
		for i := 0; i < n; i++ {
			d.n++
			r := viewRec{p: p, o: d.next[p], key: fmt.Sprintf("order-%d", d.n), seq: fmt.Sprint(d.n), typ: "OrderCreated"}
			d.next[p]++
			r.total = (d.n * 37) % 1000 // ≤ 1000: not big
			if !noise {
				if d.n%3 == 0 {
					r.total = 1000 + d.n
				}
				if d.n%5 == 0 {
					r.typ, r.cancelled = "OrderCancelled", true
				}
			}
			pad := ""
			if noise {
				pad = strings.Repeat("n", 1000)
			}
			r.val = fmt.Sprintf(`{"total":%d,"pad":"%s"}`, r.total, pad)
			d.recs = append(d.recs, r)
			krs = append(krs, &kgo.Record{Topic: "orders", Partition: p, Key: []byte(r.key), Value: []byte(r.val),
				Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte(r.typ)}, {Key: "seq", Value: []byte(r.seq)}}})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// want returns the lines of the matching records, sorted as sortLines.
func (d *viewData) want(match func(viewRec) bool) []string {
	var out []string
	for _, r := range d.recs {
		if match(r) {
			out = append(out, r.line())
		}
	}
	return sortLines(out)
}

// sortLines orders "P O ..." lines by partition then offset; within a
// partition the consumers must already have printed them in offset order,
// which checkOrder verifies.
func sortLines(ls []string) []string {
	out := slices.Clone(ls)
	slices.SortStableFunc(out, func(a, b string) int {
		var pa, pb int
		var oa, ob int64
		fmt.Sscanf(a, "%d %d", &pa, &oa)
		fmt.Sscanf(b, "%d %d", &pb, &ob)
		if pa != pb {
			return pa - pb
		}
		return int(oa - ob)
	})
	return out
}

func checkOrder(t *testing.T, who string, ls []string) {
	t.Helper()
	last := map[int]int64{}
	for _, l := range ls {
		var p int
		var o int64
		if _, err := fmt.Sscanf(l, "%d %d", &p, &o); err != nil {
			t.Fatalf("%s printed %q", who, l)
		}
		if prev, ok := last[p]; ok && o <= prev {
			t.Fatalf("%s: partition %d offset %d after %d", who, p, o, prev)
		}
		last[p] = o
	}
}

func big(r viewRec) bool       { return r.total > 1000 }
func cancelled(r viewRec) bool { return r.cancelled }

// setupViews starts a server with the source, the views big
// (value.total > 1000) and cancelled (ce.type == "OrderCancelled").
func setupViews(t *testing.T) (*eddytest.Process, *viewData) {
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "orders", "--partitions", "2")
	d := newViewData(t, s)
	d.produce(t, 60, false)
	d.produce(t, 2000, true)
	d.produce(t, 30, false)
	d.produce(t, 400, true)
	eddy(t, s, "", "view", "create", "big", "--source", "orders", "--filter", "value.total > 1000")
	eddy(t, s, "", "view", "create", "cancelled", "--source", "orders", "--filter", `ce.type == "OrderCancelled"`)
	return s, d
}

// viewClient runs one client's consumer of topic and returns its lines;
// it keeps polling for linger seconds after count records.
type viewClient func(t *testing.T, s *eddytest.Process, topic, group string, count, linger int) []string

func pyClient(lib string) viewClient {
	return func(t *testing.T, s *eddytest.Process, topic, group string, count, linger int) []string {
		r := python(t, s, "view_consumer.py", lib, s.KafkaAddr(), topic, group, fmt.Sprint(count), fmt.Sprint(linger))
		return lines(r.stdout)
	}
}

func kafkajsView(t *testing.T, s *eddytest.Process, topic, group string, count, linger int) []string {
	r := mustCmd(t, s, 90*time.Second, "", "node", filepath.Join(kafkajsDir, "view.js"), s.KafkaAddr(), topic, group, fmt.Sprint(count), fmt.Sprint(linger))
	var out []string
	for _, l := range lines(r.stdout) {
		if !strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

// kcatView: standalone, -e exits at the end of every partition, which
// librdkafka sees only once its position passed the trailing empty batch.
func kcatView(t *testing.T, s *eddytest.Process, topic, group string, count, linger int) []string {
	format := `%p %o %k %s %h\n`
	var r result
	if group == "-" {
		r = mustCmd(t, s, 90*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format)
	} else {
		r = mustCmd(t, s, 90*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-G", group, "-X", "auto.offset.reset=earliest",
			"-X", "enable.auto.commit=false", "-c", fmt.Sprint(count), "-q", "-f", format, topic)
	}
	return lines(r.stdout)
}

// testViewClient: a standalone read of big gets exactly its records; a
// group reads cancelled in two runs (the second resuming at the first's
// commits) and, after more records arrive, a third.
func testViewClient(t *testing.T, name string, c viewClient, standalone bool) {
	s, d := setupViews(t)
	if standalone {
		want := d.want(big)
		got := c(t, s, "big", "-", len(want), 0)
		checkOrder(t, name, got)
		if got = sortLines(got); !slices.Equal(got, want) {
			t.Fatalf("%s standalone read of big: %d lines, want %d\ngot  %q\nwant %q", name, len(got), len(want), got, want)
		}
	}
	want := d.want(cancelled)
	first := c(t, s, "cancelled", "g-"+name, len(want)/2, 0)
	checkOrder(t, name, first)
	// The second run reaches the end and lingers there: a client that
	// follows the trailing empty batch parks at the high watermark; one
	// that ignored it would re-fetch the stretch in a loop, which the
	// view's scan counter shows.
	scannedBefore := viewScanned(t, s, "cancelled")
	rest := c(t, s, "cancelled", "g-"+name, len(want)-len(first), 3)
	if n := viewScanned(t, s, "cancelled") - scannedBefore; n > 2*len(d.recs) {
		t.Errorf("%s: the view scanned %d source records for one pass over %d: the client re-fetches the empty batch", name, n, len(d.recs))
	} else {
		t.Logf("%s: %d source records scanned for a pass over %d and 3 s at the end", name, n, len(d.recs))
	}
	checkOrder(t, name, rest)
	if got := sortLines(append(first, rest...)); !slices.Equal(got, want) {
		t.Fatalf("%s group read of cancelled in two runs: %d lines, want %d\ngot  %q\nwant %q", name, len(got), len(want), got, want)
	}
	before := len(d.recs)
	d.produce(t, 25, false)
	var more []string
	for _, l := range d.want(cancelled) {
		if !slices.Contains(want, l) {
			more = append(more, l)
		}
	}
	got := c(t, s, "cancelled", "g-"+name, len(more), 0)
	if got = sortLines(got); !slices.Equal(got, sortLines(more)) {
		t.Fatalf("%s resumed after %d new records: got %q, want %q", name, len(d.recs)-before, got, more)
	}
}

func TestViewKcat(t *testing.T) {
	t.Parallel()
	needKcat(t)
	testViewClient(t, "kcat", kcatView, true)
}

func TestViewKafkaPython(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	testViewClient(t, "kafka-python", pyClient("kafka-python"), true)
}

func TestViewConfluentKafka(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	testViewClient(t, "confluent", pyClient("confluent"), true)
}

func TestViewKafkajs(t *testing.T) {
	t.Parallel()
	needKafkajs(t)
	testViewClient(t, "kafkajs", kafkajsView, false)
}

// viewScanned reads eddy_view_records_scanned_total of a view from
// /metrics.
func viewScanned(t *testing.T, s *eddytest.Process, view string) int {
	t.Helper()
	resp, err := http.Get(s.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	prefix := `eddy_view_records_scanned_total{view="` + view + `"} `
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			f, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			if err != nil {
				t.Fatalf("metric line %q", l)
			}
			return int(f)
		}
	}
	return 0
}
