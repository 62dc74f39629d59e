package kafka

// connID is the ID of the connection req arrived on, 0 when unknown.
func connID(req *Request) uint64 {
	if req.Conn == nil {
		return 0
	}
	return req.Conn.ID
}

// shareConnClosed tells the share-group coordinator that a connection
// closed: the share sessions it opened end and their members' records are
// released (Kafka's ConnectionDisconnectListener). It runs after the
// connection's deferred handlers returned, so a ShareFetch parked on the
// connection cannot acquire records after the release.
func (s *Server) shareConnClosed(id uint64) {
	if c := s.shareCoord(); c != nil {
		c.ConnClosed(id)
	}
}
