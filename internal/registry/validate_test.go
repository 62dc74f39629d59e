package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"

	"github.com/eddy-streaming/eddy/internal/broker"
	kbatch "github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// batchOf encodes one RecordBatch v2 of records (key, value pairs).
func batchOf(t testing.TB, codec kbatch.Codec, kvs ...[2][]byte) []byte {
	t.Helper()
	b := kbatch.NewBuilder(kbatch.NewHeader(1700000000000))
	for i, kv := range kvs {
		b.Add(&kbatch.Record{OffsetDelta: int32(i), Key: kv[0], Value: kv[1]})
	}
	out, err := b.Finish(codec)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), out...)
}

func wire(id int, data []byte) []byte { return append(schema.AppendWire(nil, int32(id)), data...) }

func TestValidator(t *testing.T) {
	tr := openTestRegistry(t, t.TempDir())
	r := tr.r
	orderID, err := r.Register("orders-value", RegisterRequest{Schema: orderV1})
	if err != nil {
		t.Fatal(err)
	}
	otherID, err := r.Register("other-value", RegisterRequest{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	keyID, err := r.Register("orders-key", RegisterRequest{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register("shop.OrderCreated", RegisterRequest{Schema: orderV1}); err != nil {
		t.Fatal(err)
	}
	good, err := avro.Marshal(avro.MustParse(orderV1), map[string]any{"id": "o-1", "amount": 5})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := avro.Marshal(avro.MustParse(`"string"`), "o-1")
	v := NewValidator(r)
	policy := func(cfg map[string]string) Policy {
		p, err := ParsePolicy(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	idOnly := policy(map[string]string{broker.ConfigValueSchemaValidation: "true"})
	full := policy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigEddyValueSchemaCheck: "full"})
	keys := policy(map[string]string{broker.ConfigKeySchemaValidation: "true", broker.ConfigEddyKeySchemaCheck: "full"})
	byRecord := policy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigValueSubjectStrategy: "io.confluent.kafka.serializers.subject.RecordNameStrategy"})
	byTopicRecord := policy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigValueSubjectStrategy: "TopicRecordNameStrategy"})

	for _, tc := range []struct {
		name   string
		topic  string
		p      Policy
		batch  []byte
		reason string // "" = accepted
	}{
		{"valid", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, good)}), ""},
		{"no policy", "orders", Policy{}, batchOf(t, kbatch.CodecNone, [2][]byte{nil, []byte("plain")}), ""},
		{"tombstone", "orders", full, batchOf(t, kbatch.CodecNone, [2][]byte{[]byte("k"), nil}), ""},
		{"no magic byte", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, good)}, [2][]byte{nil, []byte(`{"id":"o-2"}`)}), "record 1 value: no schema registry magic byte"},
		{"short header", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, {0, 0, 1}}), "shorter than"},
		{"unknown id", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(999, good)}), "schema id 999 is not registered"},
		{"id of another subject", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(otherID, good)}), "not registered under subject orders-value"},
		{"id only ignores the payload", "orders", idOnly, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, []byte{0xff})}), ""},
		{"full: payload does not decode", "orders", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, good[:3])}), "does not conform"},
		{"full: trailing bytes", "orders", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, append(good, 1))}), "trailing"},
		{"full: valid, zstd", "orders", full, batchOf(t, kbatch.CodecZstd, [2][]byte{nil, wire(orderID, good)}, [2][]byte{nil, wire(orderID, good)}), ""},
		{"full: invalid in a compressed batch", "orders", full, batchOf(t, kbatch.CodecLZ4, [2][]byte{nil, wire(orderID, good)}, [2][]byte{nil, wire(orderID, []byte{9})}), "record 1 value"},
		{"key", "orders", keys, batchOf(t, kbatch.CodecNone, [2][]byte{wire(keyID, key), []byte("anything")}), ""},
		{"key refused", "orders", keys, batchOf(t, kbatch.CodecNone, [2][]byte{[]byte("o-1"), nil}), "record 0 key"},
		{"record name strategy", "anything", byRecord, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, good)}), ""},
		{"record name strategy, unnamed schema", "anything", byRecord, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(otherID, key)}), "no record name"},
		{"topic record name strategy", "orders", byTopicRecord, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(orderID, good)}), "subject orders-shop.OrderCreated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(tc.topic, tc.p, tc.batch)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want a refusal containing %q, got %v", tc.reason, err)
			}
			if !strings.Contains(err.Error(), "topic "+tc.topic) {
				t.Fatalf("the refusal must name the topic: %v", err)
			}
		})
	}
	if _, err := ParsePolicy(map[string]string{broker.ConfigValueSubjectStrategy: "Bogus"}); err == nil {
		t.Fatal("unknown strategy accepted")
	}
	for _, name := range []string{broker.ConfigValueSchemaValidation, broker.ConfigKeySchemaValidation, broker.ConfigEddyValueSchemaCheck, broker.ConfigValueSubjectStrategy} {
		if err := broker.ValidateTopicConfig(name, "nonsense"); err == nil {
			t.Errorf("topic config %s accepted a nonsense value", name)
		}
	}
	if err := broker.ValidateTopicConfig(broker.ConfigEddyValueSchemaCheck, "full"); err != nil {
		t.Error(err)
	}
}

func TestValidatorProtobufAndJSON(t *testing.T) {
	tr := openTestRegistry(t, t.TempDir())
	r := tr.r
	protoID, err := r.Register("ships-value", RegisterRequest{SchemaType: "PROTOBUF", Schema: `syntax = "proto3"; package shop;
message Other { string x = 1; }
message Shipped { string id = 1; int64 units = 2; message Line { string sku = 1; } }`})
	if err != nil {
		t.Fatal(err)
	}
	jsonID, err := r.Register("pay-value", RegisterRequest{SchemaType: "JSON", Schema: `{"title":"Payment","type":"object","properties":{"amount":{"type":"number","minimum":0}},"required":["amount"]}`})
	if err != nil {
		t.Fatal(err)
	}
	v := NewValidator(r)
	full, _ := ParsePolicy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigEddyValueSchemaCheck: "full"})
	byRecord, _ := ParsePolicy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigValueSubjectStrategy: "RecordNameStrategy"})
	// Shipped is message index [1]: field 1 "s-1", field 2 = 7.
	shipped := []byte{0x0a, 3, 's', '-', '1', 0x10, 7}
	msg := append(schema.AppendIndexes(wire(protoID, nil), []int{1}), shipped...)
	if err := v.Validate("ships", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, msg})); err != nil {
		t.Fatalf("valid protobuf refused: %v", err)
	}
	bad := append(schema.AppendIndexes(wire(protoID, nil), []int{1}), 0x0a, 50, 'x')
	if err := v.Validate("ships", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, bad})); err == nil {
		t.Fatal("truncated protobuf accepted")
	}
	noMsg := append(schema.AppendIndexes(wire(protoID, nil), []int{7}), shipped...)
	if err := v.Validate("ships", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, noMsg})); err == nil || !strings.Contains(err.Error(), "message index") {
		t.Fatalf("index of a missing message accepted: %v", err)
	}
	// RecordNameStrategy names the indexed message.
	if err := v.Validate("ships", byRecord, batchOf(t, kbatch.CodecNone, [2][]byte{nil, msg})); err == nil || !strings.Contains(err.Error(), "subject shop.Shipped") {
		t.Fatalf("want the subject shop.Shipped, got %v", err)
	}
	if err := v.Validate("pay", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(jsonID, []byte(`{"amount":3.5}`))})); err != nil {
		t.Fatalf("valid JSON refused: %v", err)
	}
	if err := v.Validate("pay", full, batchOf(t, kbatch.CodecNone, [2][]byte{nil, wire(jsonID, []byte(`{"amount":-1}`))})); err == nil || !strings.Contains(err.Error(), "minimum") {
		t.Fatalf("JSON below the minimum accepted: %v", err)
	}
}

func FuzzValidate(f *testing.F) {
	tr := openTestRegistry(&testing.T{}, f.TempDir())
	defer tr.close()
	id, err := tr.r.Register("t-value", RegisterRequest{Schema: orderV1})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := avro.Marshal(avro.MustParse(orderV1), map[string]any{"id": "x", "amount": 1})
	f.Add(batchOf(f, kbatch.CodecNone, [2][]byte{nil, wire(id, good)}))
	f.Add(batchOf(f, kbatch.CodecZstd, [2][]byte{nil, wire(id, good[:2])}))
	f.Add([]byte{})
	f.Add(make([]byte, 61))
	v := NewValidator(tr.r)
	p, _ := ParsePolicy(map[string]string{broker.ConfigValueSchemaValidation: "true", broker.ConfigEddyValueSchemaCheck: "full", broker.ConfigKeySchemaValidation: "true"})
	f.Add(batchOf(f, kbatch.CodecSnappy, [2][]byte{nil, wire(id, good)}, [2][]byte{[]byte("k"), wire(id, good)}))
	f.Add(batchOf(f, kbatch.CodecSnappy, [2][]byte{nil, wire(id, good[:3])}))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := v.Validate("t", p, b)
		if err != nil && !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("error not wrapping ErrInvalidRecord: %v", err)
		}
		// As the broker calls it: over the records sections its own
		// validation kept, with the same verdict.
		hs, herr := kbatch.ValidateBatches(b)
		if herr != nil {
			return
		}
		sections, kerr := kbatch.ValidateAllRecordsKeep(b, hs, 1<<20)
		if kerr != nil {
			return
		}
		defer sections.Release()
		kept := v.validate("t", p, b, hs, sections)
		if (err == nil) != (kept == nil) || (err != nil && err.Error() != kept.Error()) {
			t.Fatalf("Validate: %v; over kept sections: %v", err, kept)
		}
		// And with nothing kept (uncompressed batches are read in place).
		none := v.validate("t", p, b, hs, nil)
		if (err == nil) != (none == nil) || (err != nil && err.Error() != none.Error()) {
			t.Fatalf("Validate: %v; with headers, nothing kept: %v", err, none)
		}
	})
}
