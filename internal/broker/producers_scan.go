package broker

import (
	"errors"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/record"
)

// ScanBatches calls fn for every stored batch of a partition from the one
// holding offset from up to the high watermark (commitlog.Log.ScanBatches).
// It takes no partition lock; producer-state rebuilds (internal/producers)
// call it once per partition at startup, before appends are served.
//
// Retention runs meanwhile: when it deletes the segment holding from (or
// the next batch) before the scan reaches it, the scan goes on from the new
// log start rather than failing (a restart after a power cut in a busy
// retention round otherwise failed with "offset out of range").
func (b *Broker) ScanBatches(topic string, part int32, from int64, fn func(h record.BatchHeader, batch []byte) error) error {
	p, err := b.partition(topic, part)
	if err != nil {
		return err
	}
	next := from
	scan := func(h record.BatchHeader, batch []byte) error {
		next = h.LastOffset() + 1
		return fn(h, batch)
	}
	for {
		next = max(next, p.log.LogStartOffset())
		err := p.log.ScanBatches(next, scan)
		if errors.Is(err, commitlog.ErrOffsetOutOfRange) && p.log.LogStartOffset() > next {
			continue
		}
		return err
	}
}
