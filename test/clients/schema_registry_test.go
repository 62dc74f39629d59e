package clients

import (
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestConfluentPythonSchemaRegistry drives Eddy's registry with
// confluent-kafka's SchemaRegistryClient (registration, evolution, 409s,
// lookups, config, deletes) and produces and consumes through its JSON and
// Protobuf serializers (Protobuf with an imported file and a well-known
// type) and through Avro in the Confluent wire format, against Eddy's broker
// with full schema validation on every topic.
func TestConfluentPythonSchemaRegistry(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka.schema_registry.json_schema, confluent_kafka.schema_registry.protobuf, avro.io, jsonschema, requests")
	s := eddytest.Start(t)
	// Every topic checks each value fully against its schema in the
	// broker, so what the Confluent serializers write must conform.
	for _, topic := range []string{"orders", "payments", "shipments"} {
		eddy(t, s, "", "topic", "create", topic,
			"--config", "confluent.value.schema.validation=true", "--config", "eddy.value.schema.validation=full")
	}
	r := python(t, s, "schema_registry_client.py", s.KafkaAddr(), s.SchemaRegistryURL())
	for _, want := range []string{`"check": "incompatible_refused"`, `"check": "registry_api"`, `"check": "avro_roundtrip"`, `"check": "json_roundtrip"`, `"check": "protobuf_roundtrip"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %s in:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
}
