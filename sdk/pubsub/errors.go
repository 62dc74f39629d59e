package pubsub

import "errors"

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: Retry does not retry it and, on a
// share group, the router rejects the record (the broker dead-letters it
// at once when the group has a dead-letter topic) instead of releasing it
// for redelivery. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return &permanentError{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// HandlerError is what Router.Run returns when a handler's error stops a
// classic-group router: the offsets before the record were committed, the
// record and those after it were not.
type HandlerError struct {
	Topic     string
	Partition int32
	Offset    int64
	Type      string
	Err       error
}

// Error names the record and the handler's error.
func (e *HandlerError) Error() string {
	return "handle " + e.Type + " event at " + e.Topic + "/" + itoa(int64(e.Partition)) + "@" + itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }
