//go:build !linux

package main

import (
	"errors"
	"fmt"
)

// dropPageCache is not available without posix_fadvise: the fan-out
// benchmark's cold-cache points need Linux.
func dropPageCache(dir string) error {
	return fmt.Errorf("drop page cache of %s: %w", dir, errors.ErrUnsupported)
}
