package main

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startServer starts a Kafka server on a free loopback port for the test
// and returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1), kfake.Ports(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}
