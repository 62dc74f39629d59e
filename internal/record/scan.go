package record

// HasHeaderKey walks the framing of the first count records of an
// uncompressed records section (a batch's bytes after its header) and
// reports whether one has a header named key, without decoding keys,
// values or header values: a few varints per record, cheaper than a
// Reader where the answer is usually no (the event store's check of every
// produce to a plain topic). ok is false when the framing does not parse;
// decode with a Reader then to be sure.
func HasHeaderKey(recs []byte, count int32, key string) (has, ok bool) {
	b := recs
	for n := int32(0); n < count; n++ {
		length, good := varintAt(&b)
		if !good || length < 1 || length > int64(len(b)) {
			return false, false
		}
		r := b[1:length] // past the attributes byte
		b = b[length:]
		if !skipVarint(&r) || !skipVarint(&r) { // timestamp and offset deltas
			return false, false
		}
		for range 2 { // key, value
			l, good := varintAt(&r)
			if !good || l > int64(len(r)) {
				return false, false
			}
			if l > 0 {
				r = r[l:]
			}
		}
		nh, good := varintAt(&r)
		if !good {
			return false, false
		}
		for ; nh > 0; nh-- {
			kl, good := varintAt(&r)
			if !good || kl < 0 || kl > int64(len(r)) {
				return false, false
			}
			if string(r[:kl]) == key {
				return true, true
			}
			r = r[kl:]
			vl, good := varintAt(&r)
			if !good || vl > int64(len(r)) {
				return false, false
			}
			if vl > 0 {
				r = r[vl:]
			}
		}
	}
	return false, true
}

// varintAt decodes the zigzag varint at the start of *b and moves past it.
func varintAt(b *[]byte) (int64, bool) {
	s := *b
	if len(s) > 0 && s[0] < 0x80 {
		// One byte, the common case for lengths under 64 and deltas.
		*b = s[1:]
		return int64(s[0]>>1) ^ -int64(s[0]&1), true
	}
	var ux uint64
	for i := 0; i < len(s) && i < 10; i++ {
		c := s[i]
		ux |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			*b = s[i+1:]
			return int64(ux>>1) ^ -int64(ux&1), true
		}
	}
	return 0, false
}

// skipVarint moves past the varint at the start of *b.
func skipVarint(b *[]byte) bool {
	s := *b
	for i := 0; i < len(s) && i < 10; i++ {
		if s[i] < 0x80 {
			*b = s[i+1:]
			return true
		}
	}
	return false
}
