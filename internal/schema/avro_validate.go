package schema

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
)

// maxAvroBlock bounds one array or map block's item count: a hostile count
// of zero-byte items (nulls) must not spin.
const maxAvroBlock = 1 << 20

var errAvroTruncated = errors.New("truncated")

// avroWalker checks Avro binary data against a schema without decoding it
// into values: no allocation, every length and index bounded by the input.
type avroWalker struct {
	b   []byte
	pos int
}

// validateAvro reports whether b is exactly one datum of s.
func validateAvro(s avro.Schema, b []byte) error {
	w := avroWalker{b: b}
	if err := w.datum(s, 0); err != nil {
		if errors.Is(err, errAvroTruncated) {
			return fmt.Errorf("avro payload is truncated (%d bytes)", len(b))
		}
		return fmt.Errorf("avro payload does not decode at byte %d: %w", w.pos, err)
	}
	if w.pos != len(b) {
		return fmt.Errorf("avro payload has trailing bytes after the record (%d of %d bytes used)", w.pos, len(b))
	}
	return nil
}

func (w *avroWalker) long() (int64, error) {
	v, n := binary.Varint(w.b[w.pos:])
	if n == 0 {
		return 0, errAvroTruncated
	}
	if n < 0 {
		return 0, errors.New("varint overflows 64 bits")
	}
	w.pos += n
	return v, nil
}

func (w *avroWalker) skip(n int64) error {
	if n < 0 {
		return fmt.Errorf("negative length %d", n)
	}
	if n > int64(len(w.b)-w.pos) {
		return errAvroTruncated
	}
	w.pos += int(n)
	return nil
}

func (w *avroWalker) datum(s avro.Schema, depth int) error {
	if depth > 512 {
		return errors.New("schema nests deeper than 512")
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return w.datum(s.Schema(), depth+1)
	case *avro.RecordSchema:
		for _, f := range s.Fields() {
			if err := w.datum(f.Type(), depth+1); err != nil {
				return err
			}
		}
		return nil
	case *avro.EnumSchema:
		i, err := w.long()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(s.Symbols())) {
			return fmt.Errorf("enum %s index %d out of range", s.FullName(), i)
		}
		return nil
	case *avro.FixedSchema:
		return w.skip(int64(s.Size()))
	case *avro.UnionSchema:
		i, err := w.long()
		if err != nil {
			return err
		}
		types := s.Types()
		if i < 0 || i >= int64(len(types)) {
			return fmt.Errorf("union index %d out of range (%d branches)", i, len(types))
		}
		return w.datum(types[i], depth+1)
	case *avro.ArraySchema:
		return w.blocks(func() error { return w.datum(s.Items(), depth+1) })
	case *avro.MapSchema:
		return w.blocks(func() error {
			if err := w.str(); err != nil {
				return err
			}
			return w.datum(s.Values(), depth+1)
		})
	}
	switch s.Type() {
	case avro.Null:
		return nil
	case avro.Boolean:
		if w.pos >= len(w.b) {
			return errAvroTruncated
		}
		if w.b[w.pos] > 1 {
			return fmt.Errorf("boolean byte %d", w.b[w.pos])
		}
		w.pos++
		return nil
	case avro.Int:
		v, err := w.long()
		if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
			err = fmt.Errorf("int %d out of 32-bit range", v)
		}
		return err
	case avro.Long:
		_, err := w.long()
		return err
	case avro.Float:
		return w.skip(4)
	case avro.Double:
		return w.skip(8)
	case avro.Bytes:
		n, err := w.long()
		if err != nil {
			return err
		}
		return w.skip(n)
	case avro.String:
		return w.str()
	}
	return fmt.Errorf("unsupported schema type %s", s.Type())
}

func (w *avroWalker) str() error {
	n, err := w.long()
	if err != nil {
		return err
	}
	start := w.pos
	if err := w.skip(n); err != nil {
		return err
	}
	if !utf8.Valid(w.b[start:w.pos]) {
		return errors.New("string is not UTF-8")
	}
	return nil
}

// blocks walks an array's or map's blocks: a count, negative when followed
// by the block's byte size, and 0 at the end.
func (w *avroWalker) blocks(item func() error) error {
	for {
		n, err := w.long()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if n < 0 {
			if n == math.MinInt64 {
				return errors.New("block count overflows")
			}
			n = -n
			if _, err := w.long(); err != nil { // block size in bytes
				return err
			}
		}
		if n > maxAvroBlock {
			return fmt.Errorf("block of %d items is over the %d limit", n, maxAvroBlock)
		}
		for ; n > 0; n-- {
			if err := item(); err != nil {
				return err
			}
		}
	}
}
