package clients

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestConfluentNodeSchemaRegistry drives Eddy's registry with Confluent's
// Node.js client, @confluentinc/schemaregistry (registration, evolution, a
// 409, lookups, config, soft and permanent deletes), and produces with
// kafkajs and consumes back through its Avro, JSON Schema and Protobuf
// serializers (Protobuf auto-registered from a descriptor importing a
// well-known type), against Eddy's broker with full schema validation on
// every topic.
func TestConfluentNodeSchemaRegistry(t *testing.T) {
	t.Parallel()
	needKafkajs(t)
	_, err := os.Stat(filepath.Join(kafkajsDir, "node_modules", "@confluentinc", "schemaregistry", "package.json"))
	needClient(t, err == nil, "@confluentinc/schemaregistry is not installed in "+kafkajsFromRoot, kafkajsInstall)
	s := eddytest.Start(t)
	for _, topic := range []string{"orders", "payments", "shipments"} {
		eddy(t, s, "", "topic", "create", topic,
			"--config", "confluent.value.schema.validation=true", "--config", "eddy.value.schema.validation=full")
	}
	r := mustCmd(t, s, 120*time.Second, "", "node", filepath.Join(kafkajsDir, "schema_registry.js"), s.KafkaAddr(), s.SchemaRegistryURL())
	for _, want := range []string{`"check":"incompatible_refused"`, `"check":"registry_api"`, `"check":"avro_roundtrip"`, `"check":"json_roundtrip"`, `"check":"protobuf_roundtrip"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %s in:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
	// The broker kept what the serializers wrote: every value in the
	// Confluent wire format (magic byte 0).
	out := eddy(t, s, "", "consume", "shipments", "--from-beginning", "--exit-at-end", "--format", "{{printf \"%x\" .Value}}")
	for _, l := range lines(out.stdout) {
		if !strings.HasPrefix(l, "00") {
			t.Errorf("shipments value %s is not in the wire format", l)
		}
	}
	if n := len(lines(out.stdout)); n != 2 {
		t.Errorf("shipments holds %d records, want 2", n)
	}
}
