package broker

import "github.com/eddy-streaming/eddy/internal/commitlog"

// finishRecovery makes the tails that the partition logs recovered after
// a crash durable and readable before anything is served
// (commitlog.Options.DeferRecoverySync): every log is queued first, so
// that the first commit round covers all of them with one volume sync
// where the filesystem offers it. One fsync per log, 256 at a time, was
// most of a restart after kill -9 with 10,000 partitions. Logs that
// stopped cleanly have nothing to sync.
func (b *Broker) finishRecovery() error {
	var logs []*commitlog.Log
	for _, t := range b.mu.topics {
		for _, p := range t.parts {
			if p.log.HighWatermark() < p.log.LogEndOffset() {
				logs = append(logs, p.log)
			}
		}
	}
	if len(logs) == 0 {
		return nil
	}
	for _, l := range logs {
		l.QueueSync(l.LogEndOffset())
	}
	err := forEachParallel(len(logs), logOpenParallelism, func(i int) error { return logs[i].FinishRecovery() })
	b.log.Info("recovered logs made durable", "logs", len(logs))
	return err
}
