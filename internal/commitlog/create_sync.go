package commitlog

import (
	"fmt"
	"path/filepath"
	"sync"
)

// Making new logs durable in batches (Options.DeferCreateSync).
//
// A new log is durable once its directory's entry in the parent directory
// and its segment file's entry in its directory are on disk; Open paid
// four fsyncs for that (the index files' headers too), each a device
// flush. A CreateTopics of 100 topics, or one topic of 10,000 partitions,
// paid them for every partition (about 24 ms per topic on this project's
// VM, 244 s for 10,000 topics). With
// DeferCreateSync, Open leaves them owed in Log.createSync, and the caller
// settles the whole batch with Committer.SyncCreated: one volume sync
// (syncfs(2) writes back every dirty inode and directory block of the
// filesystem and flushes the device once) where the filesystem offers one,
// else the owed fsyncs of every log, in parallel.

// The fsyncs a log's creation may owe (bits of Log.createSync).
const (
	createSyncParent uint32 = 1 << iota // the parent directory (the log's directory entry)
	createSyncDir                       // the log's directory (its segment file's entry)
)

// SyncCreated makes the creation of logs opened with
// Options.DeferCreateSync durable: one volume sync when every log lives on
// the committer's volume and little else waits for writeback (as for a
// commit round, the limit grows with the number of logs), else each log's
// owed fsyncs, in parallel. Logs that owe nothing are skipped. On error
// the creations must be treated as not durable (the caller closes and
// deletes the logs, or writes to them make their creation durable first).
func (c *Committer) SyncCreated(logs []*Log) error {
	var owing []*Log
	for _, l := range logs {
		if l.createSync.Load() != 0 {
			owing = append(owing, l)
		}
	}
	if len(owing) == 0 {
		return nil
	}
	if c.volumeUsableFor(owing) {
		c.mu.Lock()
		vol := c.vol
		c.mu.Unlock()
		if vol != nil {
			c.acquire()
			err := vol.Sync()
			c.release()
			if err != nil {
				return fmt.Errorf("volume sync of %d new logs: %w", len(owing), err)
			}
			for _, l := range owing {
				l.createSync.Store(0)
			}
			return nil
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, l := range owing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.acquire()
			defer c.release()
			l.mu.Lock()
			err := l.syncCreatedLocked()
			l.mu.Unlock()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// volumeUsableFor reports whether one volume sync may make the creation of
// logs durable: they all live on the committer's volume, and the bytes
// waiting for writeback on the machine are within MaxVolumeDirty per
// logsPerDirtyLimit logs (the alternative is up to three fsyncs per log).
// Unlike volumeUsable it reads the dirty bytes afresh: it runs outside the
// commit rounds, whose leader owns the cached reading.
func (c *Committer) volumeUsableFor(logs []*Log) bool {
	c.mu.Lock()
	vol := c.vol
	c.mu.Unlock()
	if vol == nil {
		return false
	}
	for _, l := range logs {
		if l.fs != c.volFS {
			return false
		}
	}
	dirty, ok := vol.DirtyBytes()
	return ok && dirty <= c.maxDirty*int64(max(1, 3*len(logs)/logsPerDirtyLimit))
}

// syncCreatedLocked makes the log's creation durable by the fsyncs it
// still owes. mu must be held (write lock, or the log not yet shared).
func (l *Log) syncCreatedLocked() error {
	owed := l.createSync.Load()
	if owed == 0 {
		return nil
	}
	if owed&createSyncDir != 0 {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("make new log %s durable: sync its directory: %w", l.dir, err)
		}
	}
	if owed&createSyncParent != 0 {
		if err := l.fs.SyncDir(filepath.Dir(l.dir)); err != nil {
			return fmt.Errorf("make new log %s durable: sync the data directory: %w", l.dir, err)
		}
	}
	l.createSync.CompareAndSwap(owed, 0)
	return nil
}
