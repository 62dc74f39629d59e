package kafka

import "testing"

func TestFillerOnlyCrashes(t *testing.T) {
	for id, want := range map[string]bool{
		"kafka-python-2.0.2": true, "kafka-python-1.4.7": true, "kafka-python-2.1.0": false,
		"rdkafka": false, "kgo": false, "": false, "kafkajs": false,
	} {
		if got := fillerOnlyCrashes(id); got != want {
			t.Errorf("fillerOnlyCrashes(%q) = %v", id, got)
		}
	}
}
