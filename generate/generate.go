// Package generate makes a believable company for Pulse — teams of sales,
// service and marketing people with customers, leads, follow-ups,
// opportunities, contracts, invoices, payments, logins, monthly targets and
// support tickets — and emits its history (and then live activity) as the
// JSON events of shared/spec/events.md.
//
// The history is a deterministic simulation: the same Options give a
// byte-identical stream. It contains the anomalies Pulse must catch (see
// Generator.Planted): a back-filler, an entry burst, a team whose activity
// drops, dormant customers, a rep far behind the revenue target, people who
// stop logging in, poor record completeness, SLA breaches. With BadRate > 0 a
// share of the messages is deliberately invalid (see bad.go for the list).
package generate

import (
	"context"
	"errors"
	"iter"
	"math"
	"time"
)

// Options configure a Generator. Zero values get defaults in New.
type Options struct {
	Seed      int64          // same seed + same options => byte-identical event stream
	Now       time.Time      // the "present"; history covers [Now - Days, Now). Default: time.Now() truncated to the hour
	Days      int            // days of history to back-fill, default 90
	Employees int            // company size, default 60 (≈ 6 teams); at least 10
	BadRate   float64        // share (0..1) of messages that are deliberately invalid, default 0
	Location  *time.Location // business time zone for working hours and timestamps; default UTC
	Topics    Topics         // topic names; defaults crm.events, finance.events, ticket.events
}

// Topics names the three topics of events.md.
type Topics struct{ CRM, Finance, Ticket string }

// DefaultTopics are the topic names of events.md.
var DefaultTopics = Topics{CRM: "crm.events", Finance: "finance.events", Ticket: "ticket.events"}

func (t Topics) withDefaults() Topics {
	if t.CRM == "" {
		t.CRM = DefaultTopics.CRM
	}
	if t.Finance == "" {
		t.Finance = DefaultTopics.Finance
	}
	if t.Ticket == "" {
		t.Ticket = DefaultTopics.Ticket
	}
	return t
}

// Message is one Kafka message to produce.
type Message struct {
	Topic string
	Key   []byte
	Value []byte
}

// Sink receives messages in order. Send may keep the messages' Key and Value
// (they are never modified afterwards) but not the slice itself.
type Sink interface {
	Send(ctx context.Context, msgs []Message) error
}

// Generator generates the events of one simulated company.
type Generator struct {
	opts Options
	last *sim // the state after the latest History (for Live)
}

// New returns a generator; zero fields of opts get their defaults.
func New(opts Options) *Generator {
	if opts.Now.IsZero() {
		opts.Now = time.Now().Truncate(time.Hour)
	}
	if opts.Days <= 0 {
		opts.Days = 90
	}
	if opts.Employees <= 0 {
		opts.Employees = 60
	}
	if opts.Employees < 10 {
		opts.Employees = 10
	}
	opts.BadRate = math.Max(0, math.Min(1, opts.BadRate))
	if math.IsNaN(opts.BadRate) {
		opts.BadRate = 0
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	opts.Topics = opts.Topics.withDefaults()
	opts.Now = opts.Now.Truncate(time.Second)
	return &Generator{opts: opts}
}

// Options returns the options with defaults filled in.
func (g *Generator) Options() Options { return g.opts }

// ChunkSize is the number of messages History passes to Sink.Send at once.
const ChunkSize = 1000

// History emits the back-filled history [Now-Days, Now) in occurred_at
// order (day by day; a few late entries go out with the day they were made),
// in chunks of ChunkSize to the sink. It returns the number of messages sent.
func (g *Generator) History(ctx context.Context, sink Sink) (int, error) {
	s := newSim(g.opts, g.opts.Employees, g.opts.Days)
	s.limitEnd = true
	var (
		ar    arena
		batch = make([]Message, 0, ChunkSize)
		sent  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sink.Send(ctx, batch); err != nil {
			return err
		}
		sent += len(batch)
		batch = make([]Message, 0, ChunkSize)
		return nil
	}
	s.out = func(topic string, key, val []byte) error {
		v, k := ar.copy(val, key)
		batch = append(batch, Message{Topic: topic, Key: k, Value: v})
		if len(batch) == ChunkSize {
			return flush()
		}
		return nil
	}
	if err := s.run(); err != nil {
		return sent, err
	}
	if err := flush(); err != nil {
		return sent, err
	}
	g.last = s
	return sent, nil
}

// Stream emits exactly n messages of history (valid, or bad per BadRate),
// deterministically for the same Options and n, calling fn for each; it is
// meant for benchmarks that need millions of events fast. When n is more than
// the configured history holds, the company is made bigger and the history
// longer (and, if still short, the simulation runs on past Now). The
// Message's Key and Value are fn's to keep. fn's error stops the stream and
// is returned.
func (g *Generator) Stream(n int, fn func(Message) error) error {
	if n <= 0 {
		return nil
	}
	emp, days := g.scaleFor(n)
	s := newSim(g.opts, emp, days)
	var ar arena
	count := 0
	s.out = func(topic string, key, val []byte) error {
		v, k := ar.copy(val, key)
		if err := fn(Message{Topic: topic, Key: k, Value: v}); err != nil {
			return err
		}
		count++
		if count == n {
			return errStop
		}
		return nil
	}
	return s.run()
}

var errYieldStop = errors.New("generate: iteration stopped")

// Events is a pull iterator over Stream(n).
func (g *Generator) Events(n int) iter.Seq[Message] {
	return func(yield func(Message) bool) {
		g.Stream(n, func(m Message) error {
			if !yield(m) {
				return errYieldStop
			}
			return nil
		})
	}
}

// eventsPerEmployeeDay is the measured yield of the simulation (events per
// employee per calendar day) used to size Stream's company.
const eventsPerEmployeeDay = 30.0

// scaleFor picks company size and history length for n events: the
// configured ones when they suffice, else a bigger company (up to 20×, at
// most 3000 people) and a longer history.
func (g *Generator) scaleFor(n int) (emp, days int) {
	emp, days = g.opts.Employees, g.opts.Days
	need := float64(n) * 1.15 / (eventsPerEmployeeDay * float64(emp) * float64(days))
	if need <= 1 {
		return emp, days
	}
	grow := math.Min(math.Sqrt(need), math.Min(20, 3000/float64(emp)))
	grow = math.Max(grow, 1)
	emp = int(math.Ceil(float64(emp) * grow))
	days = int(math.Ceil(float64(days) * need / grow))
	return emp, days
}

// arena hands out copies of messages from large blocks, so a message costs
// no allocation of its own. Blocks are never reused: earlier messages stay
// valid.
type arena struct{ buf []byte }

const arenaBlock = 256 << 10

func (a *arena) copy(val, key []byte) (v, k []byte) {
	need := len(val) + len(key)
	if cap(a.buf)-len(a.buf) < need {
		a.buf = make([]byte, 0, max(arenaBlock, need))
	}
	off := len(a.buf)
	a.buf = append(a.buf, val...)
	a.buf = append(a.buf, key...)
	v = a.buf[off : off+len(val) : off+len(val)]
	k = a.buf[off+len(val) : off+need : off+need]
	return v, k
}
