package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startServer starts a real `eddy serve` child process (the binary TestMain
// built) on a fresh data directory and loopback port-0 listeners, and
// returns its Kafka address. The process is killed by PID at cleanup.
func startServer(t *testing.T) string {
	t.Helper()
	return startEddy(t, t.TempDir()).started("kafka_addr")
}

// requireGroups skips the test while the server answers the group
// coordinator lookup with COORDINATOR_NOT_AVAILABLE, which is what Eddy
// answers until consumer groups (issue 4) are wired into `eddy serve`. Any
// other answer, including a working coordinator, lets the test run.
func requireGroups(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = "probe"
	req.CoordinatorKeys = []string{"probe"}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("find coordinator: %v", err)
	}
	code := resp.ErrorCode
	if len(resp.Coordinators) > 0 {
		code = resp.Coordinators[0].ErrorCode
	}
	if code == kerr.CoordinatorNotAvailable.Code {
		t.Skip("needs consumer groups (issue 4): the server answers FindCoordinator with COORDINATOR_NOT_AVAILABLE")
	}
}
