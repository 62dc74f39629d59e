package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// duplicateFetchPartition returns the first partition a Fetch request
// names twice ("topic-partition", or the topic id for v13+), or "".
func duplicateFetchPartition(r *kmsg.FetchRequest) string {
	type key struct {
		topic string
		id    [16]byte
		part  int32
	}
	n := 0
	for _, t := range r.Topics {
		n += len(t.Partitions)
	}
	if n < 2 {
		return ""
	}
	seen := make(map[key]struct{}, n)
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			k := key{topic: t.Topic, id: t.TopicID, part: p.Partition}
			if _, ok := seen[k]; ok {
				if r.Version >= 13 {
					return fmt.Sprintf("%x-%d", t.TopicID, p.Partition)
				}
				return fmt.Sprintf("%s-%d", t.Topic, p.Partition)
			}
			seen[k] = struct{}{}
		}
	}
	return ""
}
