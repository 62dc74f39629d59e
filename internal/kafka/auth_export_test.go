package kafka

// ConnInfos returns the open connections' descriptions (tests read the
// principal a connection authenticated as).
func ConnInfos(s *Server) []*ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ConnInfo, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		out = append(out, &c.info)
	}
	return out
}
