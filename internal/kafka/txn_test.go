package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestTransactionsNotAdvertised: the transaction APIs are not served, so
// ApiVersions does not list them, and a transactional franz-go producer
// fails at once (the transaction coordinator lookup is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED and a message) instead of retrying.
func TestTransactionsNotAdvertised(t *testing.T) {
	for _, v := range kafka.APIVersions() {
		switch v.Key {
		case int16(kmsg.AddPartitionsToTxn), int16(kmsg.AddOffsetsToTxn), int16(kmsg.EndTxn), int16(kmsg.TxnOffsetCommit),
			int16(kmsg.WriteTxnMarkers), int16(kmsg.DescribeTransactions), int16(kmsg.ListTransactions):
			t.Fatalf("%s (key %d) is advertised but Eddy has no transactions", kmsg.NameForKey(v.Key), v.Key)
		}
	}
	srv := kafkatest.Start(t)
	cl := srv.Client(t, kgo.TransactionalID("tx-1"), kgo.DefaultProduceTopic("txn"), kgo.AllowAutoTopicCreation())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	// franz-go loads the transactional producer id in BeginTransaction
	// (or on the first produce) and fails there.
	err := cl.BeginTransaction()
	if err == nil {
		err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
	}
	t.Logf("franz-go transactional producer: %v (after %v)", err, time.Since(start))
	if !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		t.Fatalf("transactional producer: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", err)
	}
	// The coordinator lookup carries the reason for clients that show it
	// (librdkafka prints it).
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorType = 1
	fc.CoordinatorKey = "tx-1"
	r, err := fc.RequestWith(ctx, srv.Client(t))
	if err != nil || r.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code || r.ErrorMessage == nil ||
		!strings.Contains(*r.ErrorMessage, "does not support transactions") {
		t.Fatalf("FindCoordinator(transaction): %+v %v", r, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the refusal took %v; it must be immediate", d)
	}
	if _, _, end, _ := srv.Broker.Offsets("txn", 0); end != 0 {
		t.Fatalf("a transactional record was written (end offset %d)", end)
	}
}
