//go:build !linux

package vfs

// OpenVolume is not supported outside Linux: callers fall back to
// per-file fsyncs.
func (osFS) OpenVolume(dir string) (Volume, error) { return nil, ErrNoVolume }
