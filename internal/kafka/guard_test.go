package kafka_test

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// A frame that does not arrive within FrameTimeout closes its
// connection: a client trickling a large claimed frame cannot hold a
// reader, a frame buffer or produce budget for long. A client sending at
// full speed is not affected.
func TestFrameTimeoutClosesSlowFrame(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithServerConfig(func(c *kafka.Config) { c.FrameTimeout = 300 * time.Millisecond }))
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var head []byte
	head = binary.BigEndian.AppendUint32(head, 1<<20) // 1 MiB claimed
	head = binary.BigEndian.AppendUint16(head, 0)     // Produce
	head = binary.BigEndian.AppendUint16(head, 9)
	if _, err := c.Write(head); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := c.Write([]byte{0}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadFull(c, make([]byte, 4))
	if took := time.Since(start); err == nil || took > 3*time.Second {
		t.Fatalf("slow frame: read returned %v after %v, want the connection closed after ~300ms", err, took)
	}
	// An ordinary client on the same server is served.
	cl := srv.Client(t)
	if err := cl.Ping(t.Context()); err != nil {
		t.Fatalf("ping after the slow frame: %v", err)
	}
}
