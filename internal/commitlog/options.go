package commitlog

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
	"github.com/prometheus/client_golang/prometheus"
)

// SyncPolicy says when appended bytes are fsynced.
type SyncPolicy uint8

const (
	// SyncAlways (the default) makes WaitDurable and Append return only after
	// the bytes are fsynced; concurrent appenders share fsyncs through the
	// Committer. The high watermark is the durable end.
	SyncAlways SyncPolicy = iota
	// SyncInterval fsyncs every Options.SyncInterval from a background
	// flusher; a crash may lose up to one interval of acknowledged data.
	SyncInterval
	// SyncNever leaves flushing to the operating system (and to segment roll
	// and Close, which always fsync).
	SyncNever
)

// ParseSyncPolicy parses "always", "interval" or "never".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("%w: sync policy %q, want always, interval or never", ErrInvalidOptions, s)
}

// String returns the name ParseSyncPolicy accepts.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// Options configure a Log. Start from DefaultOptions.
type Options struct {
	// FS is the filesystem; nil means vfs.OS().
	FS vfs.FS
	// Sync is the durability policy; default SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the flush period under SyncInterval; default 1s.
	SyncInterval time.Duration
	// SegmentBytes rolls the active segment when an append would grow it
	// past this size; default 1 GiB, at most 2 GiB-1 (index positions are
	// 32-bit).
	SegmentBytes int64
	// SegmentAge rolls a non-empty active segment this long after its first
	// append (checked on Write and EnforceRetention); default 7 days, 0
	// never rolls by age.
	SegmentAge time.Duration
	// IndexIntervalBytes is the number of log bytes between sparse index
	// entries; default 4096.
	IndexIntervalBytes int
	// PreallocateBytes prepares disk space for the active segment up to
	// this far past its end. Under SyncAlways, where the filesystem offers
	// vfs.ZeroFiller, the space is zero-filled and made durable in the
	// background, starting with as much as the segment holds (at least
	// 64 KiB): fsyncs of appends written there commit no filesystem
	// metadata, which makes them about twice as fast on ext4 (zerofill.go).
	// Otherwise blocks are reserved (fallocate with FALLOC_FL_KEEP_SIZE; the
	// file's size and content do not change): appends then skip the
	// filesystem's per-write block allocation, which roughly doubles
	// page-cache append speed on ext4. Sealing or closing a segment releases
	// what it did not use. Default 8 MiB; 0 disables.
	PreallocateBytes int64
	// DeferCreateSync leaves out the fsyncs that make a new log's creation
	// durable (its directory's entry in the parent directory, the
	// directory's files): Open then creates it without waiting for the
	// disk, and the caller makes a batch of new logs durable together with
	// Committer.SyncCreated (one volume sync for all of them where the
	// filesystem offers one). A log that is written before that makes its
	// own creation durable first. Existing logs are not affected.
	DeferCreateSync bool
	// CacheBytes is how much of the log's end its pages stay in the page
	// cache: pages that are durable and further behind the end are dropped
	// (posix_fadvise DONTNEED) a few MiB at a time, so a log that keeps
	// appending reuses the pages it frees rather than taking fresh ones and
	// evicting other files' pages (pagecache.go). Reads of older data go to
	// the disk, and the kernel caches them again. Default 256 MiB; 0 leaves
	// the page cache to the kernel (what Kafka does).
	CacheBytes int64
	// RetentionBytes deletes the oldest segments while the log would stay at
	// least this big without them; -1 (default) is unlimited.
	RetentionBytes int64
	// RetentionAge deletes segments whose newest timestamp is older than
	// this; default 7 days (Kafka retention.ms); -1 is unlimited.
	RetentionAge time.Duration
	// Committer is the group committer shared by every log of one data
	// directory; nil makes the log own a private one.
	Committer *Committer
	// Logger receives recovery and error reports; nil discards them.
	Logger *slog.Logger
	// Registerer receives metrics when the log owns its Committer; nil
	// registers nothing. A shared Committer registers its own metrics.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// DeferRecoverySync leaves the tail that Open recovers after an
	// unclean stop of a SyncAlways log unsynced and invisible (the high
	// watermark stays below it) until FinishRecovery makes it durable, so
	// that a caller opening many logs makes all their tails durable in
	// one commit round (one volume sync) instead of one fsync per log.
	// Other policies, and logs that stopped cleanly, are unaffected.
	DeferRecoverySync bool
	// Files bounds the open segment files of every log sharing it
	// (FileCache); nil keeps every segment file open while its log is.
	Files *FileCache
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{
		Sync:               SyncAlways,
		SyncInterval:       time.Second,
		SegmentBytes:       1 << 30,
		SegmentAge:         7 * 24 * time.Hour,
		IndexIntervalBytes: 4096,
		PreallocateBytes:   8 << 20,
		CacheBytes:         256 << 20,
		RetentionBytes:     -1,
		RetentionAge:       7 * 24 * time.Hour,
	}
}

// Validate reports every problem with o, joined; each wraps
// ErrInvalidOptions.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...))
	}
	if o.Sync > SyncNever {
		bad("unknown sync policy %d", o.Sync)
	}
	if o.Sync == SyncInterval && o.SyncInterval <= 0 {
		bad("sync interval %v must be positive", o.SyncInterval)
	}
	if o.SegmentBytes < record.BatchHeaderSize || o.SegmentBytes > math.MaxInt32 {
		bad("segment bytes %d out of range [%d, %d]", o.SegmentBytes, record.BatchHeaderSize, math.MaxInt32)
	}
	if o.SegmentAge < 0 {
		bad("segment age %v is negative", o.SegmentAge)
	}
	if o.IndexIntervalBytes < 0 {
		bad("index interval bytes %d is negative", o.IndexIntervalBytes)
	}
	if o.PreallocateBytes < 0 {
		bad("preallocate bytes %d is negative", o.PreallocateBytes)
	}
	if o.CacheBytes < 0 {
		bad("cache bytes %d is negative", o.CacheBytes)
	}
	if o.RetentionBytes < -1 {
		bad("retention bytes %d, want -1 or more", o.RetentionBytes)
	}
	if o.RetentionAge < -1 {
		bad("retention age %v, want -1 (unlimited) or more", o.RetentionAge)
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = vfs.OS()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
