package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
)

// BufferBody returns h with every request body read first, at most limit
// bytes, under the server's body budget and body timeout (as readBody
// reads them for Eddy's own routes), and handed to h from memory. It is
// for handlers that read bodies on their own, such as the schema
// registry's, on this server's listener or on another one: either way
// their bodies share the one server-wide budget. A body that cannot be
// read is answered by fail: 413 past limit, 503 when the budget has no
// room within the body timeout, 400 otherwise.
func (s *Server) BufferBody(h http.Handler, limit int64, fail func(w http.ResponseWriter, status int, msg string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		if _, ok := r.Context().Value(bodyHoldKey{}).(*bodyHold); !ok {
			// Not under serveHTTP (another listener): hold the body
			// here until h returns.
			var hold *bodyHold
			r, hold = s.withBodyHold(r)
			defer hold.release()
		}
		b, err := readBody(w, r, limit)
		if err != nil {
			var mbe *http.MaxBytesError
			var bre *BadRequestError
			switch {
			case errors.As(err, &mbe):
				fail(w, http.StatusRequestEntityTooLarge, err.Error())
			case errors.Is(err, ErrBusy):
				w.Header().Set("Retry-After", "1")
				fail(w, http.StatusServiceUnavailable, err.Error())
			case errors.As(err, &bre):
				fail(w, http.StatusBadRequest, bre.Msg)
			default:
				fail(w, http.StatusBadRequest, err.Error())
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		h.ServeHTTP(w, r)
	})
}

// LimitListener caps the connections ln serves at n, as the server caps
// its own (Config.MaxConnections): Accept waits while n are open, and
// further connections wait in the kernel's listen backlog. n <= 0 is no
// cap.
func LimitListener(ln net.Listener, n int) net.Listener { return newLimitListener(ln, n) }
