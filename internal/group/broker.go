package group

import "github.com/eddy-streaming/eddy/internal/broker"

// BrokerTopics adapts a *broker.Broker to Topics (and TopicIDs and
// UnreadFroms).
func BrokerTopics(b *broker.Broker) Topics { return brokerTopics{b} }

type brokerTopics struct{ b *broker.Broker }

func (t brokerTopics) Partitions(topic string) (int32, bool) {
	info, err := t.b.Topic(topic)
	if err != nil {
		return 0, false
	}
	return info.Partitions, true
}

func (t brokerTopics) HighWatermark(topic string, partition int32) (int64, error) {
	_, hw, _, err := t.b.Offsets(topic, partition)
	return hw, err
}

func (t brokerTopics) UnreadFrom(topic string, partition int32, committed int64) int64 {
	return t.b.UnreadFrom(topic, partition, committed)
}

func (t brokerTopics) TopicID(topic string) ([16]byte, bool) {
	info, err := t.b.Topic(topic)
	if err != nil {
		return [16]byte{}, false
	}
	return info.ID, true
}
