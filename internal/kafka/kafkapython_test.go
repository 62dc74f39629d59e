package kafka_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// pythonWithKafka finds a python3 that can import kafka-python.
func pythonWithKafka(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import kafka").Run() == nil {
			return p
		}
	}
	if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
		t.Fatal("no python3 with kafka-python")
	}
	t.Skip("kafka-python not installed")
	return ""
}

const tutorialProducer = `
import json, sys
from kafka import KafkaProducer
producer = KafkaProducer(bootstrap_servers=[sys.argv[1]])
for i in range(5):
    producer.send('order-events', json.dumps({'order': i}).encode('utf-8'), key=str(i).encode())
producer.send('order-events', b'gz', key=b'gz', headers=[('h', b'v')])
producer.flush()
gz = KafkaProducer(bootstrap_servers=[sys.argv[1]], compression_type='gzip')
gz.send('order-events', b'compressed').get(timeout=10)
gz.close()
producer.close()
`

const assignedConsumer = `
import sys
from kafka import KafkaConsumer, TopicPartition
c = KafkaConsumer(bootstrap_servers=[sys.argv[1]], consumer_timeout_ms=5000, auto_offset_reset='earliest', enable_auto_commit=False)
parts = [TopicPartition('order-events', p) for p in c.partitions_for_topic('order-events')]
c.assign(parts)
c.seek_to_beginning()
n = 0
for m in c:
    print(m.partition, m.offset, m.key.decode() if m.key else '', m.value.decode())
    n += 1
    if n == 7:
        break
end = c.end_offsets(parts)
print('end', sum(end.values()))
c.close()
`

// TestKafkaPython runs the tutorial's kafka-python 2.0.2 producer exactly
// (auto-created topic, ApiVersions v0 + Metadata v0 pipelined, version
// guessing) and a consumer assigned to the partitions.
func TestKafkaPython(t *testing.T) {
	py := pythonWithKafka(t)
	srv := kafkatest.Start(t)
	runTool(t, tutorialProducer, py, "-", srv.Addr)
	out := runTool(t, assignedConsumer, py, "-", srv.Addr)
	for _, want := range []string{`0 0 0 {"order": 0}`, `0 4 4 {"order": 4}`, "0 5 gz gz", "0 6  compressed", "end 7"} {
		if !strings.Contains(out, want) {
			t.Fatalf("consumer output lacks %q:\n%s", want, out)
		}
	}
}
