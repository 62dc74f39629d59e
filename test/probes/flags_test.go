package probes

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// The limits are `eddy serve` flags: a server started with short
// --idle-timeout and --frame-timeout closes an idle connection and one
// whose frame trickles within those times, not the defaults (10 min, 30 s).
func TestProbeTimeoutFlags(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--idle-timeout", "1s", "--frame-timeout", "500ms"))
	closedWithin := func(c net.Conn, d time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(d))
		var b [1]byte
		if _, err := c.Read(b[:]); err != io.EOF {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after %v", d)
			}
		}
		return time.Since(start)
	}

	idle, err := net.Dial("tcp", p.KafkaAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	trickle, err := net.Dial("tcp", p.KafkaAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	head := binary.BigEndian.AppendUint32(nil, 1000) // a 1000-byte frame, of which 8 bytes come
	head = binary.BigEndian.AppendUint16(head, 3)
	head = binary.BigEndian.AppendUint16(head, 9)
	head = binary.BigEndian.AppendUint32(head, 1)
	if _, err := trickle.Write(head); err != nil {
		t.Fatal(err)
	}
	if d := closedWithin(trickle, 5*time.Second); d > 3*time.Second {
		t.Fatalf("trickling frame closed after %v with --frame-timeout 500ms", d)
	}
	if d := closedWithin(idle, 5*time.Second); d > 4*time.Second {
		t.Fatalf("idle connection closed after %v with --idle-timeout 1s", d)
	}
	if v := metric(t, p, "eddy_kafka_frame_timeouts_total"); v != 1 {
		t.Fatalf("eddy_kafka_frame_timeouts_total = %v, want 1", v)
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}
