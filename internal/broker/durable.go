package broker

// QueueSync queues the write's partition for the data directory's next
// commit round without waiting (commitlog.Log.QueueSync). A request that
// wrote to several partitions calls it on every write before the first
// Wait, so that one round makes all of them durable instead of one round
// per partition.
func (w *WriteResult) QueueSync() {
	if w.p != nil && w.syncWait {
		w.p.log.QueueSync(w.Next)
	}
}
