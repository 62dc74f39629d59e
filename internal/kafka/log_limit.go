package kafka

import (
	"strconv"

	"github.com/eddy-streaming/eddy/internal/errtext"
)

// failureLog rate-limits the error lines of failures that repeat once per
// request while they last (a full disk fails every produce): the first of
// an episode is logged, then at most one a minute per message and code,
// with the number suppressed in between.
var failureLog errtext.Limiter

// logFailure logs an error line through failureLog.
func (s *Server) logFailure(msg string, code int16, args ...any) {
	ok, suppressed := failureLog.Allow(msg + "/" + strconv.Itoa(int(code)))
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed_since_last", suppressed)
	}
	s.log.Error(msg, args...)
}
