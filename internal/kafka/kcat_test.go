package kafka_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// requireTool skips when a client binary is missing, unless CI demands it
// (EDDY_REQUIRE_CLIENTS=1).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("%s not installed", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func runTool(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstderr: %s", name, args, err, errb.String())
	}
	return out.String()
}

// TestKcat drives the server with librdkafka (Debian's kcat): metadata,
// produce with every codec (librdkafka compresses only when the advertised
// Produce range includes v0, and zstd only with v7), and consume.
func TestKcat(t *testing.T) {
	kcat := requireTool(t, "kcat")
	srv := kafkatest.Start(t)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		topic := "kcat-" + codec
		in := "k1:v1\nk2:v2\nk3:" + strings.Repeat("x", 1000) + "\n"
		runTool(t, in, kcat, "-b", srv.Addr, "-P", "-t", topic, "-K", ":", "-z", codec)
		out := runTool(t, "", kcat, "-b", srv.Addr, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k=%s\n")
		if !strings.HasPrefix(out, "k1=v1\nk2=v2\nk3=xxx") {
			t.Fatalf("%s: consumed %q", codec, out)
		}
		// librdkafka sends a batch uncompressed when compressing does not
		// shrink it (two tiny lines may form their own batch), so look
		// for the codec in any stored batch.
		res, err := srv.Broker.Fetch(topic, 0, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]byte{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
		var seen []byte
		for b := res.Batches; len(b) >= 61; {
			seen = append(seen, b[22]&7)
			b = b[12+int(binary.BigEndian.Uint32(b[8:])):]
		}
		if !bytes.Contains(seen, []byte{want}) {
			t.Fatalf("%s: librdkafka sent codecs %v (it did not enable compression: check the advertised versions)", codec, seen)
		}
	}
	md := runTool(t, "", kcat, "-b", srv.Addr, "-L")
	for _, want := range []string{"1 brokers:", "broker 1 at " + srv.Addr, `topic "kcat-zstd" with 1 partitions`} {
		if !strings.Contains(md, want) {
			t.Fatalf("kcat -L lacks %q:\n%s", want, md)
		}
	}
}
