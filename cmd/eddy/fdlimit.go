//go:build unix

package main

import (
	"log/slog"
	"syscall"
)

// fdReserve is how many file descriptors the Kafka listener leaves for
// everything else: segment, index and time-index files of every
// partition, the metadata store, the HTTP listener and its clients. It is
// at least minFDReserve and a quarter of the limit.
func fdReserve(limit uint64) uint64 { return max(minFDReserve, limit/4) }

const minFDReserve = 256

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit (the Go
// runtime does this too on Linux; doing it here makes it explicit and
// portable across Unixes) and returns the resulting soft limit, 0 when it
// cannot be read.
func raiseFileLimit(log *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("read open-files limit", "err", err)
		return 0
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			log.Warn("raise open-files limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		} else {
			lim = want
		}
	}
	return lim.Cur
}

// connectionLimit is the Kafka connection cap for maxConns under a soft
// open-files limit: connections may use what the reserve leaves, so that
// clients holding many connections cannot take the descriptors partition
// logs need. It logs when it lowers the configured cap.
//
// maxConns 0 is no cap of its own: the result is what the reserve leaves
// (0, no cap, when the limit is unknown).
func connectionLimit(maxConns int, limit uint64, log *slog.Logger) int {
	if limit == 0 {
		return maxConns
	}
	avail := int64(limit) - int64(fdReserve(limit))
	if avail < 16 {
		avail = 16
	}
	if maxConns == 0 {
		return int(avail)
	}
	if int64(maxConns) > avail {
		log.Warn("max-connections lowered to fit the open-files limit; raise the limit (ulimit -n, LimitNOFILE=) to allow more",
			"max_connections", maxConns, "effective", avail, "open_files_limit", limit, "reserved_for_storage", fdReserve(limit))
		return int(avail)
	}
	return maxConns
}
