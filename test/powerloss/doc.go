// Package powerloss runs Eddy through power failures at the process level.
//
// It holds two things:
//
//   - FS, a FUSE file system (github.com/hanwen/go-fuse/v2) that behaves like a
//     disk with a volatile write cache, in the manner of Jepsen's LazyFS:
//     every operation passes through to a backing directory at once (so reads
//     see it), but what survives a power cut is only what was made durable —
//     a file's data and size by fsync/fdatasync of that file, a directory's
//     entries (creates, renames, unlinks, mkdir, rmdir) by fsync of that
//     directory. FS.PowerCut freezes the durable state, lets the caller kill
//     the process that used the mount, unmounts, rebuilds the backing
//     directory from the durable state and mounts it again.
//   - A Jepsen-style run (the tests of this package): the real `eddy serve`
//     binary on such a mount under concurrent workloads, cut at random
//     moments, restarted on what survived, and checked against what every
//     client was told (see docs/testing.md).
//
// The durable state is kept as a redo store (the idea of ALICE's and
// LazyFS's models): a directory of file contents named by a file identity
// that survives renames, plus each directory's durable listing. An fsync
// copies the byte ranges written since the previous one into the store, so
// its cost is what was written, not the file's size.
//
// FS is safe for concurrent use by the kernel's FUSE requests; PowerCut,
// SyncAll and Close must not run concurrently with each other.
//
// Usage:
//
//	fs, err := powerloss.Mount(backing, store, mnt, powerloss.Options{})
//	defer fs.Close()
//	... run a process with its data on mnt ...
//	err = fs.PowerCut(func() { proc.Kill() })  // mnt now holds what was durable
package powerloss
