package query

import (
	"bufio"
	"database/sql/driver"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Format is a result format.
type Format string

const (
	FormatJSON    Format = "json"
	FormatCSV     Format = "csv"
	FormatParquet Format = "parquet"
	FormatArrow   Format = "arrow" // Arrow IPC stream format
)

// ContentType is the media type to send with f.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatParquet:
		return "application/vnd.apache.parquet"
	case FormatArrow:
		return "application/vnd.apache.arrow.stream"
	}
	return "application/json"
}

var mediaTypes = map[string]Format{
	"application/json":                    FormatJSON,
	"text/json":                           FormatJSON,
	"text/csv":                            FormatCSV,
	"application/csv":                     FormatCSV,
	"application/vnd.apache.parquet":      FormatParquet,
	"application/parquet":                 FormatParquet,
	"application/x-parquet":               FormatParquet,
	"application/vnd.apache.arrow.stream": FormatArrow,
	"application/vnd.apache.arrow":        FormatArrow,
	"application/x-arrow":                 FormatArrow,
	"*/*":                                 FormatJSON,
	"application/*":                       FormatJSON,
	"text/*":                              FormatCSV,
}

// FormatFor picks the result format: the format parameter ("json", "csv",
// "parquet", "arrow") if given, else the most preferred supported media
// type of the Accept header, else JSON. An unknown parameter, or an Accept
// header naming only unsupported types, is ErrNotAcceptable.
func FormatFor(formatParam, acceptHeader string) (Format, error) {
	if p := strings.ToLower(strings.TrimSpace(formatParam)); p != "" {
		switch p {
		case "json":
			return FormatJSON, nil
		case "csv":
			return FormatCSV, nil
		case "parquet":
			return FormatParquet, nil
		case "arrow", "arrows", "ipc":
			return FormatArrow, nil
		}
		return "", errorf(ErrNotAcceptable, "unknown format %q (json, csv, parquet or arrow)", formatParam)
	}
	if strings.TrimSpace(acceptHeader) == "" {
		return FormatJSON, nil
	}
	type cand struct {
		f     Format
		q     float64
		order int
	}
	var cs []cand
	for i, part := range strings.Split(acceptHeader, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, prm := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(prm), "=")
			if strings.EqualFold(k, "q") {
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					q = x
				}
			}
		}
		if f, ok := mediaTypes[mt]; ok && q > 0 {
			cs = append(cs, cand{f, q, i})
		}
	}
	if len(cs) == 0 {
		return "", errorf(ErrNotAcceptable, "none of the accepted types %q is available (application/json, text/csv, application/vnd.apache.parquet, application/vnd.apache.arrow.stream)", acceptHeader)
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	return cs[0].f, nil
}

// sink receives rows as duckdb-go's driver values.
type sink interface {
	begin(cols []Column) error
	row(vals []driver.Value, cols []Column) error
	end(sum *Summary) error
}

func (s *collector) begin([]Column) error { return nil }
func (s *collector) row(vals []driver.Value, cols []Column) error {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = jsonValue(v, cols[i].Type)
	}
	s.rows = append(s.rows, out)
	return nil
}
func (s *collector) end(*Summary) error { return nil }

type collector struct{ rows [][]any }

type jsonSink struct {
	w    *bufio.Writer
	n    int
	cols []Column
}

func newJSONSink(w io.Writer) *jsonSink { return &jsonSink{w: bufio.NewWriterSize(w, 64<<10)} }

func (s *jsonSink) begin(cols []Column) error {
	b, err := json.Marshal(cols)
	if err != nil {
		return err
	}
	s.w.WriteString(`{"columns":`)
	s.w.Write(b)
	_, err = s.w.WriteString(`,"rows":[`)
	return err
}

func (s *jsonSink) row(vals []driver.Value, cols []Column) error {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = jsonValue(v, cols[i].Type)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if s.n > 0 {
		s.w.WriteByte(',')
	}
	s.n++
	_, err = s.w.Write(b)
	return err
}

func (s *jsonSink) end(sum *Summary) error {
	fmt.Fprintf(s.w, `],"truncated":%t,"row_count":%d,"elapsed_ms":%d}`+"\n",
		sum.Truncated, sum.RowCount, sum.Elapsed.Milliseconds())
	return s.w.Flush()
}

type csvSink struct {
	bw  *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSVSink(w io.Writer) *csvSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &csvSink{bw: bw, w: csv.NewWriter(bw)}
}

func (s *csvSink) begin(cols []Column) error {
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.Name
	}
	s.rec = make([]string, len(cols))
	return s.w.Write(h)
}

func (s *csvSink) row(vals []driver.Value, cols []Column) error {
	for i, v := range vals {
		s.rec[i] = csvValue(jsonValue(v, cols[i].Type))
	}
	return s.w.Write(s.rec)
}

func (s *csvSink) end(*Summary) error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// csvValue renders a JSON-ready value as a CSV field: NULL is empty,
// strings and numbers as they are, nested values as JSON.
func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// jsonValue turns a duckdb-go value into one encoding/json writes as
// documented in the package comment. dbType is the column's DuckDB type
// for top-level values and "" inside nested ones.
func jsonValue(v any, dbType string) any {
	switch x := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint:
		return x
	case float32:
		return floatValue(float64(x), 32)
	case float64:
		return floatValue(x, 64)
	case *big.Int:
		if x == nil {
			return nil
		}
		return json.Number(x.String())
	case duckdb.Decimal:
		return json.Number(decimalString(x))
	case time.Time:
		switch dbType {
		case "DATE":
			return x.Format("2006-01-02")
		case "TIME", "TIME_NS":
			return x.Format("15:04:05.999999999")
		case "TIMETZ":
			return x.Format("15:04:05.999999999Z07:00")
		}
		return x.Format(time.RFC3339Nano)
	case duckdb.Interval:
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Micros}
	case duckdb.UUID:
		return x.String()
	case *duckdb.UUID:
		return x.String()
	case []byte:
		return x // base64 by encoding/json
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e, "")
		}
		return out
	case duckdb.OrderedMap:
		keys, vals := x.Keys(), x.Values()
		allStrings := true
		for _, k := range keys {
			if _, ok := k.(string); !ok {
				allStrings = false
				break
			}
		}
		if allStrings {
			out := make(map[string]any, len(keys))
			for i, k := range keys {
				out[k.(string)] = jsonValue(vals[i], "")
			}
			return out
		}
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = map[string]any{"key": jsonValue(k, ""), "value": jsonValue(vals[i], "")}
		}
		return out
	case duckdb.Union:
		return jsonValue(x.Value, "")
	case fmt.Stringer:
		return x.String()
	}
	if _, err := json.Marshal(v); err == nil {
		return v
	}
	return fmt.Sprint(v)
}

func floatValue(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
}

// decimalString writes a DECIMAL exactly.
func decimalString(d duckdb.Decimal) string {
	if d.Value == nil {
		return "0"
	}
	s := new(big.Int).Abs(d.Value).String()
	neg := d.Value.Sign() < 0
	if sc := int(d.Scale); sc > 0 {
		if len(s) <= sc {
			s = strings.Repeat("0", sc-len(s)+1) + s
		}
		s = s[:len(s)-sc] + "." + s[len(s)-sc:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
