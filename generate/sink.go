package generate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// KafkaSink produces messages with a kafka-go Writer: partitions by a hash of
// the key, batches of up to 1000 messages / 1 MiB flushed every 5 ms, acks
// from all in-sync replicas, topics created on first use, no compression.
type KafkaSink struct {
	w *kafka.Writer
}

// NewKafkaSink returns a sink producing to the given brokers (host:port).
// A nil transport uses kafka-go's default (plain TCP).
func NewKafkaSink(brokers []string, transport *kafka.Transport) *KafkaSink {
	var rt kafka.RoundTripper
	if transport != nil {
		rt = transport
	}
	return &KafkaSink{w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Transport:              rt,
		Balancer:               &kafka.Hash{},
		BatchSize:              1000,
		BatchBytes:             1 << 20,
		BatchTimeout:           5 * time.Millisecond,
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		Compression:            0, // none
	}}
}

// Writer exposes the underlying kafka-go Writer (for its Stats).
func (k *KafkaSink) Writer() *kafka.Writer { return k.w }

// Send writes msgs synchronously, in order per partition.
func (k *KafkaSink) Send(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	km := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
	}
	if err := k.w.WriteMessages(ctx, km...); err != nil {
		return fmt.Errorf("kafka sink: %w", err)
	}
	return nil
}

// Close flushes and closes the writer.
func (k *KafkaSink) Close() error { return k.w.Close() }

// FileSink writes JSON lines, one file per topic: <dir>/<topic>.jsonl, one
// message value per line. Files are truncated when the sink first writes to
// them.
type FileSink struct {
	dir   string
	mu    sync.Mutex
	files map[string]*fileOut
	order []string
}

type fileOut struct {
	f *os.File
	w *bufio.Writer
}

// NewFileSink creates dir if needed and returns a sink writing into it.
func NewFileSink(dir string) (*FileSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file sink: %w", err)
	}
	return &FileSink{dir: dir, files: map[string]*fileOut{}}, nil
}

// Path returns the file a topic is written to.
func (s *FileSink) Path(topic string) string { return filepath.Join(s.dir, topic+".jsonl") }

// Send appends each message value as one line to its topic's file.
func (s *FileSink) Send(_ context.Context, msgs []Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		return errors.New("file sink: closed")
	}
	for _, m := range msgs {
		if m.Topic == "" || strings.ContainsAny(m.Topic, `/\`) || m.Topic == "." || m.Topic == ".." {
			return fmt.Errorf("file sink: bad topic name %q", m.Topic)
		}
		if bytes.IndexByte(m.Value, '\n') >= 0 {
			return fmt.Errorf("file sink: message value on topic %s contains a newline", m.Topic)
		}
		out := s.files[m.Topic]
		if out == nil {
			f, err := os.Create(s.Path(m.Topic))
			if err != nil {
				return fmt.Errorf("file sink: %w", err)
			}
			out = &fileOut{f: f, w: bufio.NewWriterSize(f, 1<<20)}
			s.files[m.Topic] = out
			s.order = append(s.order, m.Topic)
		}
		out.w.Write(m.Value)
		if err := out.w.WriteByte('\n'); err != nil {
			return fmt.Errorf("file sink: %w", err)
		}
	}
	return nil
}

// Flush writes buffered lines to the files.
func (s *FileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, t := range s.order {
		if err := s.files[t].w.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close flushes and closes all files.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, t := range s.order {
		out := s.files[t]
		if err := out.w.Flush(); err != nil {
			errs = append(errs, err)
		}
		if err := out.f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.files, s.order = nil, nil
	return errors.Join(errs...)
}

// MaxLine is the longest line ReadFile accepts.
const MaxLine = 2 << 20

// ReadFile reads a JSON-lines file and calls fn with each non-blank line
// (without the line ending; a leading UTF-8 byte order mark is dropped). The
// slice passed to fn is fn's to keep. A line over MaxLine bytes is an error.
func ReadFile(path string, fn func(value []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return readLines(f, path, fn)
}

func readLines(rd io.Reader, name string, fn func(value []byte) error) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine+2)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimRight(b, "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if len(b) > MaxLine {
			return fmt.Errorf("%s:%d: line longer than %d bytes", name, line, MaxLine)
		}
		if err := fn(bytes.Clone(b)); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, MaxLine)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
