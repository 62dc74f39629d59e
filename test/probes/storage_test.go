package probes

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// Item 7: bytes flipped in the newest segment after a clean stop (whose
// start skips the scan, as intended) are caught by the read path's CRC
// check: the stream read answers 500 corrupt_data naming topic, partition
// and offset, never the damaged event; the metric counts it; the server
// keeps serving.
func TestProbeCorruptionDetected(t *testing.T) {
	dir := t.TempDir()
	p := eddytest.Start(t, eddytest.DataDir(dir))
	for i, ev := range []string{`"first"`, `"second"`, `"third"`} {
		code, body := httpPost(t, "http://"+p.HTTPAddr()+"/v1/topics/ledger/streams/acct-1",
			`{"events":[{"id":"e-`+string(rune('a'+i))+`","type":"Posted","data":`+ev+`}]}`)
		if code != 200 {
			t.Fatalf("append: %d %s", code, body)
		}
	}
	p.Stop()

	segs, _ := filepath.Glob(filepath.Join(dir, "ledger-0", "*.log"))
	if len(segs) == 0 {
		t.Fatal("no segment of ledger-0")
	}
	slices.Sort(segs)
	seg := segs[len(segs)-1]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Walk to the last batch and flip a byte inside its records.
	last := -1
	for pos := 0; pos+61 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[pos+8:])) + 12
		if n <= 12 || pos+n > len(b) || b[pos+16] != 2 {
			break
		}
		last = pos
		pos += n
	}
	if last < 0 {
		t.Fatal("no batch found in the segment")
	}
	b[last+61+8] ^= 0x5a
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}

	p2 := eddytest.Start(t, eddytest.DataDir(dir))
	resp, err := httpClient.Get("http://" + p2.HTTPAddr() + "/v1/topics/ledger/streams/acct-1")
	if err != nil {
		t.Fatal(err)
	}
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	resp.Body.Close()
	if resp.StatusCode != 500 || eb.Error.Code != "corrupt_data" || !strings.Contains(eb.Error.Message, "ledger-0") {
		t.Fatalf("read of a damaged stream: %d %+v, want 500 corrupt_data naming ledger-0", resp.StatusCode, eb)
	}
	if strings.Contains(eb.Error.Message, dir) {
		t.Fatalf("error message shows the data directory: %q", eb.Error.Message)
	}
	t.Logf("damaged read answered: %s", eb.Error.Message)
	if v := metric(t, p2, "eddy_eventstore_corrupt_batches_total"); v < 1 {
		t.Fatalf("eddy_eventstore_corrupt_batches_total = %v", v)
	}
	alive(t, p2)
	canary(t, p2, canaryDeadline)
}

// Item 9: routes that create topics refuse internal names; nothing a
// client sees names an absolute path; /v1/status does not show the data
// directory.
func TestProbeInternalNamesAndLeaks(t *testing.T) {
	p := eddytest.Start(t)
	rc := dialRaw(t, p.KafkaAddr())
	for _, name := range []string{"__consumer_offsets", "__eddy_internal"} {
		req := kmsgCreateTopics(name)
		resp := kmsgCreateTopicsResponse()
		rc.roundTrip(req, resp)
		if got := resp.Topics[0].ErrorCode; got != 17 { // INVALID_TOPIC_EXCEPTION
			t.Fatalf("CreateTopics %s: code %d, want INVALID_TOPIC_EXCEPTION", name, got)
		}
		code, body := httpPost(t, "http://"+p.HTTPAddr()+"/v1/topics/"+name+"/streams/s", `{"events":[{"id":"x","type":"T","data":{}}]}`)
		if code != 400 || !strings.Contains(body, "invalid_topic") {
			t.Fatalf("append creating %s: %d %s", name, code, body)
		}
	}
	// Metadata auto-creation refuses it too.
	md := kmsgMetadata("__auto")
	mresp := kmsgMetadataResponse()
	rc.roundTrip(md, mresp)
	if got := mresp.Topics[0].ErrorCode; got == 0 {
		t.Fatal("Metadata auto-created __auto")
	}
	status, err := httpGetBody("http://" + p.HTTPAddr() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(status, p.DataDir()) {
		t.Fatalf("/v1/status shows the data directory:\n%s", status)
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}

// Item 9, protected mode: without authentication a non-loopback listen
// address is refused at start, naming the flag that allows it (the
// refusal happens before anything binds).
func TestProbeProtectedMode(t *testing.T) {
	p := eddytest.Spawn(t, eddytest.Args("--kafka-addr", ":0"))
	if code := p.Wait(20 * time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2\n%s", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "--allow-unauthenticated-remote") || !strings.Contains(out, "kafka-addr") {
		t.Fatalf("refusal does not say what to do:\n%s", out)
	}
}
