package broker

import (
	"github.com/eddy-streaming/eddy/internal/record"
)

// ScanBatches calls fn for every stored batch of a partition from the one
// holding offset from up to the high watermark (commitlog.Log.ScanBatches).
// It takes no partition lock; producer-state rebuilds (internal/producers)
// call it once per partition at startup, before appends are served.
func (b *Broker) ScanBatches(topic string, part int32, from int64, fn func(h record.BatchHeader, batch []byte) error) error {
	p, err := b.partition(topic, part)
	if err != nil {
		return err
	}
	return p.log.ScanBatches(from, fn)
}
