package kafka_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestShutdownAnswersParkedFetch: a fetch parked for 30 s is answered at
// once when shutdown starts, Shutdown returns promptly, and the listener
// refuses new connections.
func TestShutdownAnswersParkedFetch(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("s", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	fr := longPollFetch("s", 1, 30000, 1<<20)
	corr := rc.send(fr, 12)
	waitParked(t, srv.Broker, 1)
	answered := make(chan *kmsg.FetchResponse, 1)
	go func() { answered <- rc.read(fr, 12, corr).(*kmsg.FetchResponse) }()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Kafka.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with a parked fetch", d)
	}
	select {
	case resp := <-answered:
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 0 {
			t.Fatalf("parked fetch answered %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("parked fetch not answered")
	}
	if c, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
		c.Close()
		t.Fatal("listener still accepting after shutdown")
	}
}

// TestMaxConnections: at the cap the server stops accepting; a further
// connection waits in the listen backlog, unanswered and not closed, and
// is served once an open connection closes.
func TestMaxConnections(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithServerConfig(func(c *kafka.Config) { c.MaxConnections = 1 }))
	first := dialRaw(t, srv.Addr)
	if r := first.roundTrip(kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		t.Fatalf("first connection: %d", r.ErrorCode)
	}
	second := dialRaw(t, srv.Addr) // completes in the kernel's backlog
	corr := second.send(kmsg.NewPtrApiVersionsRequest(), 0)
	_ = second.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := second.recv(); err == nil {
		t.Fatal("second connection answered above the cap")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("second connection: %v; want it left waiting, not closed", err)
	}
	// The first connection is still served.
	if r := first.roundTrip(kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		t.Fatalf("first connection while at the cap: %d", r.ErrorCode)
	}
	first.c.Close()
	_ = second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r := second.read(kmsg.NewPtrApiVersionsRequest(), 0, corr).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		t.Fatalf("second connection once a slot freed: %d", r.ErrorCode)
	}
}

func TestIdleTimeout(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithServerConfig(func(c *kafka.Config) { c.IdleTimeout = 200 * time.Millisecond }))
	rc := dialRaw(t, srv.Addr)
	if r := rc.roundTrip(kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		t.Fatal(r.ErrorCode)
	}
	start := time.Now()
	rc.expectClosed()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
}

func TestAdvertisedAddr(t *testing.T) {
	for _, c := range []struct{ adv, host string }{{"", "127.0.0.1"}, {"eddy.example:19092", "eddy.example"}, {"bare.example", "bare.example"}} {
		srv := kafkatest.Start(t, kafkatest.WithServerConfig(func(cfg *kafka.Config) { cfg.AdvertisedAddr = c.adv }))
		rc := dialRaw(t, srv.Addr)
		r := rc.roundTrip(kmsg.NewPtrMetadataRequest(), 12).(*kmsg.MetadataResponse)
		b := r.Brokers[0]
		_, listenPort, _ := net.SplitHostPort(srv.Addr)
		wantPort := listenPort
		if c.adv == "eddy.example:19092" {
			wantPort = "19092"
		}
		if b.Host != c.host || fmt.Sprint(b.Port) != wantPort {
			t.Errorf("advertised %q: got %s:%d", c.adv, b.Host, b.Port)
		}
	}
}
