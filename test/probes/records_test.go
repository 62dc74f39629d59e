package probes

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// Items 2, 5 and 6 of the hardening issue: batches whose header and CRC
// are fine but whose records cannot be read are refused with
// INVALID_RECORD and a message (CORRUPT_MESSAGE for a bad CRC), nothing is
// stored, and consumers of the partition keep working.
func TestProbeUnreadableBatches(t *testing.T) {
	p := eddytest.Start(t)
	createTopic(t, p, "victim", 1, nil)
	streams := "true"
	createTopic(t, p, "victim-streams", 1, map[string]*string{"eddy.streams": &streams})
	rc := dialRaw(t, p.KafkaAddr())

	one := rawRecord(0, []byte("s-1"), []byte(`{"ok":1}`))
	two := append(rawRecord(0, []byte("s-1"), []byte("a")), rawRecord(1, []byte("s-1"), []byte("b"))...)
	zstdOf := func(b []byte) []byte {
		enc, _ := zstd.NewWriter(nil)
		return enc.EncodeAll(b, nil)
	}
	badCRC := rawBatch(one, 1, 0)
	badCRC[len(badCRC)-1] ^= 0xff
	probes := []struct {
		name     string
		batch    []byte
		wantCode int16
		wantMsg  string
	}{
		{"random record bytes", rawBatch([]byte("\x93\x11 not records \xff\xfe\x00\x01\x02"), 2, 0), kerr.InvalidRecord.Code, "record 0"},
		{"count 2^31-1 on 2 records", rawBatch(two, math.MaxInt32, 0), kerr.InvalidRecord.Code, "batch holds 2 records"},
		{"count 1 on 2 records", rawBatch(two, 1, 0), kerr.InvalidRecord.Code, "after the last of 1 records"},
		{"bad gzip payload", rawBatch([]byte("\x1f\x8b\x08\x00 not deflate"), 1, 1), kerr.InvalidRecord.Code, "gzip payload does not decompress"},
		{"bad zstd payload", rawBatch([]byte("\x28\xb5\x2f\xfd not zstd"), 1, 4), kerr.InvalidRecord.Code, "zstd payload does not decompress"},
		{"zstd records count mismatch", rawBatch(zstdOf(two), 3, 4), kerr.InvalidRecord.Code, "batch holds 2 records"},
		{"1 record claiming delta 1", rawBatch(rawRecord(1, []byte("s-1"), []byte("x")), 1, 0), kerr.InvalidRecord.Code, "offset delta 1, want 0"},
		{"2 records both delta 0", rawBatch(append(rawRecord(0, []byte("s-1"), []byte("a")), rawRecord(0, []byte("s-1"), []byte("b"))...), 2, 0), kerr.InvalidRecord.Code, "offset delta 0, want 1"},
		{"bad CRC", badCRC, kerr.CorruptMessage.Code, "CRC"},
	}
	for _, topic := range []string{"victim", "victim-streams"} {
		for _, pr := range probes {
			t.Run(topic+"/"+pr.name, func(t *testing.T) {
				got := rc.produce(topic, pr.batch)
				msg := ""
				if got.ErrorMessage != nil {
					msg = *got.ErrorMessage
				}
				if got.ErrorCode != pr.wantCode || !strings.Contains(msg, pr.wantMsg) {
					t.Fatalf("produce answered %v %q, want %v mentioning %q",
						kerr.ErrorForCode(got.ErrorCode), msg, kerr.ErrorForCode(pr.wantCode), pr.wantMsg)
				}
			})
		}
	}
	// Nothing was stored: a good batch lands at offset 0.
	if got := rc.produce("victim-streams", rawBatch(one, 1, 0)); got.ErrorCode != 0 || got.BaseOffset != 0 {
		t.Fatalf("good batch after the probes: %v at %d, want offset 0", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	// The stream the refused batches named is readable.
	code, err := httpGet("http://" + p.HTTPAddr() + "/v1/topics/victim-streams/streams/s-1")
	if err != nil || code != 200 {
		t.Fatalf("GET stream after the probes: %d %v", code, err)
	}
	// Item 2: 200 batches claiming 2^31-1 records rolled no segment.
	dir := filepath.Join(p.DataDir(), "victim-0")
	before := countFiles(t, dir)
	for i := 0; i < 200; i++ {
		if got := rc.produce("victim", rawBatch(two, math.MaxInt32, 0)); got.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("request %d: %v", i, kerr.ErrorForCode(got.ErrorCode))
		}
	}
	if after := countFiles(t, dir); after != before {
		t.Fatalf("partition directory went from %d to %d files", before, after)
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read partition dir: %v", err)
	}
	return len(es)
}

// Item 4, decompression bombs: 4 parallel 1 GiB zstd bombs (tens of KiB
// each) on an eddy.streams topic are refused; peak RSS stays far below
// 1 GiB.
func TestProbeDecompressionBombs(t *testing.T) {
	p := eddytest.Start(t)
	streams := "true"
	createTopic(t, p, "bombed", 1, map[string]*string{"eddy.streams": &streams})
	// One record whose value is 1 GiB of zeros, compressed as a stream:
	// well formed, so only the decompressed-size limit stops it.
	var buf bytes.Buffer
	enc, _ := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	var head []byte
	head = append(head, 0)                  // attributes
	head = binary.AppendVarint(head, 0)     // timestamp delta
	head = binary.AppendVarint(head, 0)     // offset delta
	head = binary.AppendVarint(head, 3)     // key length
	head = append(head, "s-1"...)           // key
	head = binary.AppendVarint(head, 1<<30) // value length
	_, _ = enc.Write(binary.AppendVarint(nil, int64(len(head))+1<<30+1))
	_, _ = enc.Write(head)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 1024; i++ {
		_, _ = enc.Write(zeros)
	}
	_, _ = enc.Write([]byte{0}) // no headers
	_ = enc.Close()
	bomb := rawBatch(buf.Bytes(), 1, 4)
	t.Logf("bomb: %d bytes compressed, 1 GiB+ decompressed", len(bomb))
	base := rss(t, p.PID())
	done := make(chan kerr.Error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			rc := dialRaw(t, p.KafkaAddr())
			got := rc.produce("bombed", bomb)
			done <- *kerr.ErrorForCode(got.ErrorCode).(*kerr.Error)
		}()
	}
	for i := 0; i < 4; i++ {
		if e := <-done; e.Code != kerr.InvalidRecord.Code {
			t.Fatalf("bomb answered %v, want INVALID_RECORD", e)
		}
	}
	peak := peakRSS(t, p.PID())
	t.Logf("RSS before %d MiB, peak %d MiB", base>>20, peak>>20)
	if peak > 1<<30 {
		t.Fatalf("peak RSS %d MiB through 4 bombs, target < 1 GiB", peak>>20)
	}
	code, err := httpGet("http://" + p.HTTPAddr() + "/v1/topics/bombed/streams/s-1")
	if err != nil || (code != 200 && code != 404) {
		t.Fatalf("GET bombed stream: %d %v", code, err)
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}
