// Package config loads Pulse's settings: defaults, then a strict YAML file,
// then PULSE_* environment variables, then command-line flags. Every error
// names the setting, and for the file the line it stands on.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of Pulse. pulse.example.yaml documents each one;
// a test keeps the two in step.
type Config struct {
	Brokers  []string `yaml:"brokers"`
	Data     string   `yaml:"data"`
	Addr     string   `yaml:"addr"`
	Timezone string   `yaml:"timezone"`
	LogLevel string   `yaml:"log_level"`
	// AdminToken comes from PULSE_ADMIN_TOKEN only, never from a file.
	AdminToken string `yaml:"-"`

	Kafka     Kafka     `yaml:"kafka"`
	Topics    Topics    `yaml:"topics"`
	Ingest    Ingest    `yaml:"ingest"`
	Warehouse Warehouse `yaml:"warehouse"`
	Generator Generator `yaml:"generator"`
}

// Kafka is how Pulse connects to the brokers: TLS and SASL for managed
// clusters (Confluent Cloud, MSK, Aiven…).
type Kafka struct {
	ClientID              string `yaml:"client_id"`
	TLS                   bool   `yaml:"tls"`
	TLSCAFile             string `yaml:"tls_ca_file"`
	TLSInsecureSkipVerify bool   `yaml:"tls_insecure_skip_verify"`
	SASLMechanism         string `yaml:"sasl_mechanism"`
	SASLUsername          string `yaml:"sasl_username"`
	SASLPassword          string `yaml:"sasl_password"`
}

// Topics names the three topics of events.md.
type Topics struct {
	CRM     string `yaml:"crm"`
	Finance string `yaml:"finance"`
	Ticket  string `yaml:"ticket"`
}

// All returns the topic names in a fixed order.
func (t Topics) All() []string { return []string{t.CRM, t.Finance, t.Ticket} }

// Ingest configures the Kafka consumers and batching.
type Ingest struct {
	GroupID         string        `yaml:"group_id"`
	Consumers       int           `yaml:"consumers"`
	StartFrom       string        `yaml:"start_from"`
	FlushRows       int           `yaml:"flush_rows"`
	FlushBytes      ByteSize      `yaml:"flush_bytes"`
	FlushInterval   time.Duration `yaml:"flush_interval"`
	MaxMessageBytes ByteSize      `yaml:"max_message_bytes"`
	RefusedRawBytes ByteSize      `yaml:"refused_raw_bytes"`
	FetchMaxBytes   ByteSize      `yaml:"fetch_max_bytes"`
	FetchMaxWait    time.Duration `yaml:"fetch_max_wait"`
	QueueCapacity   int           `yaml:"queue_capacity"`
	SessionTimeout  time.Duration `yaml:"session_timeout"`
}

// Warehouse configures the DuckDB database.
type Warehouse struct {
	File                string        `yaml:"file"`
	Threads             int           `yaml:"threads"`
	MemoryLimit         string        `yaml:"memory_limit"`
	CheckpointThreshold string        `yaml:"checkpoint_threshold"`
	IdleCheckpoint      time.Duration `yaml:"idle_checkpoint"`
}

// Generator configures `pulse generate` and the demo's generator.
type Generator struct {
	Seed      int64   `yaml:"seed"`
	Days      int     `yaml:"days"`
	Employees int     `yaml:"employees"`
	Rate      float64 `yaml:"rate"`
	BadRate   float64 `yaml:"bad_rate"`
}

// Default returns the settings used where nothing else is said.
func Default() Config {
	return Config{
		Brokers:  []string{"localhost:9092"},
		Data:     "./data",
		Addr:     ":8080",
		Timezone: "UTC",
		LogLevel: "info",
		Kafka:    Kafka{ClientID: "pulse"},
		Topics:   Topics{CRM: "crm.events", Finance: "finance.events", Ticket: "ticket.events"},
		Ingest: Ingest{
			GroupID:         "pulse",
			Consumers:       1,
			StartFrom:       "earliest",
			FlushRows:       122880,
			FlushBytes:      64 << 20,
			FlushInterval:   500 * time.Millisecond,
			MaxMessageBytes: 1 << 20,
			RefusedRawBytes: 64 << 10,
			FetchMaxBytes:   16 << 20,
			FetchMaxWait:    250 * time.Millisecond,
			QueueCapacity:   10000,
			SessionTimeout:  10 * time.Second,
		},
		Warehouse: Warehouse{
			File:                "pulse.duckdb",
			Threads:             1,
			MemoryLimit:         "1GB",
			CheckpointThreshold: "256MB",
			IdleCheckpoint:      30 * time.Second,
		},
		Generator: Generator{Seed: 1, Days: 90, Employees: 60, Rate: 200},
	}
}

// Error is a configuration error: where it is and what is wrong.
type Error struct {
	Source string // file name, or "environment", or "flag"
	Line   int    // 0 when not from a file
	Field  string // dotted path, e.g. ingest.flush_rows
	Msg    string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", e.Source, e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.Source, e.Field, e.Msg)
}

// Load builds the configuration from defaults, the file at path (skipped
// when path is empty) and the environment, then validates it. Flags are
// applied afterwards by the caller with Set and checked with Validate.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	var root *yaml.Node
	if path != "" {
		src, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("reading config: %w", err)
		}
		if root, err = decodeStrict(path, src, &cfg); err != nil {
			return cfg, err
		}
	}
	fromEnv, err := applyEnv(&cfg, environ)
	if err != nil {
		return cfg, err
	}
	if err := cfg.validate(path, root, fromEnv); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func decodeStrict(path string, src []byte, cfg *Config) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, yamlError(path, nil, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file keeps the defaults
	}
	root := doc.Content[0]
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, yamlError(path, root, err)
	}
	if err := checkWholeNumbers(path, root, cfg); err != nil {
		return nil, err
	}
	return root, nil
}

// checkWholeNumbers refuses a float for an integer setting: yaml.v3
// truncates it silently (flush_rows: 1.5 would be 1), where Set refuses.
func checkWholeNumbers(path string, root *yaml.Node, cfg *Config) error {
	all := fields(cfg)
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		switch fv := all[p]; fv.Interface().(type) {
		case time.Duration, ByteSize:
			continue
		default:
			if fv.Kind() != reflect.Int && fv.Kind() != reflect.Int64 {
				continue
			}
		}
		if n := nodeAt(root, p); n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			return &Error{Source: path, Line: n.Line, Field: p, Msg: fmt.Sprintf("not a whole number: %q", n.Value)}
		}
	}
	return nil
}

// yamlError turns yaml.v3's "line N: …" messages into an Error naming the
// setting the way the file spells it.
func yamlError(path string, root *yaml.Node, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = te.Errors[0]
	}
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		n, after, _ := strings.Cut(rest, ": ")
		line, _ = strconv.Atoi(n)
		msg = after
	}
	field := pathAtLine(root, "", line)
	if f, ok := strings.CutPrefix(msg, "field "); ok {
		name, _, _ := strings.Cut(f, " not found")
		msg = "unknown setting"
		if field == "" {
			field = name
		}
	}
	if field == "" {
		field = "(file)"
	}
	return &Error{Source: path, Line: line, Field: field, Msg: msg}
}

// pathAtLine finds the dotted path of the setting on the given line: the
// key on that line, or the key whose value is there (a value on the line
// after its key, an item of a list).
func pathAtLine(n *yaml.Node, prefix string, line int) string {
	if n == nil || n.Kind != yaml.MappingNode || line == 0 {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Line == line {
			return prefix + k.Value
		}
		if p := pathAtLine(v, prefix+k.Value+".", line); p != "" {
			return p
		}
		if v.Kind != yaml.MappingNode && onLine(v, line) {
			return prefix + k.Value
		}
	}
	return ""
}

// onLine reports whether n or a node inside it stands on line.
func onLine(n *yaml.Node, line int) bool {
	if n.Line == line {
		return true
	}
	for _, c := range n.Content {
		if onLine(c, line) {
			return true
		}
	}
	return false
}

// lineOf finds the line of a dotted path in the YAML tree, 0 if absent.
func lineOf(root *yaml.Node, path string) int {
	if n := nodeAt(root, path); n != nil {
		return n.Line
	}
	return 0
}

// nodeAt finds the value node of a dotted path in the YAML tree, or nil.
func nodeAt(root *yaml.Node, path string) *yaml.Node {
	n := root
	for _, part := range strings.Split(path, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// EnvName is the environment variable of a dotted setting path.
func EnvName(path string) string {
	return "PULSE_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// fields lists every settable leaf of cfg by dotted YAML path.
func fields(cfg *Config) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct {
				walk(prefix+tag+".", fv)
				continue
			}
			out[prefix+tag] = fv
		}
	}
	walk("", reflect.ValueOf(cfg).Elem())
	return out
}

// applyEnv sets what PULSE_* variables say and returns the paths it set.
func applyEnv(cfg *Config, environ []string) (map[string]bool, error) {
	fromEnv := map[string]bool{}
	byEnv := map[string]string{}
	for path := range fields(cfg) {
		byEnv[EnvName(path)] = path
	}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "PULSE_") {
			continue
		}
		if name == "PULSE_ADMIN_TOKEN" {
			cfg.AdminToken = val
			continue
		}
		path, known := byEnv[name]
		if !known {
			continue // other PULSE_ variables belong to scripts, not to us
		}
		if err := cfg.Set(path, val); err != nil {
			return nil, &Error{Source: "environment", Field: name, Msg: err.Error()}
		}
		fromEnv[path] = true
	}
	return fromEnv, nil
}

// Set assigns a setting from its text form, as environment variables and
// flags give it. Lists are comma-separated.
func (c *Config) Set(path, text string) error {
	fv, ok := fields(c)[path]
	if !ok {
		return fmt.Errorf("unknown setting %q", path)
	}
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("not a duration (like 500ms or 2s): %q", text)
		}
		fv.SetInt(int64(d))
		return nil
	case ByteSize:
		b, err := ParseByteSize(text)
		if err != nil {
			return err
		}
		fv.SetInt(int64(b))
		return nil
	case []string:
		var list []string
		for _, s := range strings.Split(text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		fv.Set(reflect.ValueOf(list))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("not true or false: %q", text)
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", text)
		}
		fv.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", text)
		}
		fv.SetFloat(f)
	default:
		return fmt.Errorf("setting %q cannot be set from text", path)
	}
	return nil
}

// Validate checks the settings after flags have been applied.
func (c *Config) Validate() error { return c.validate("", nil, nil) }

// validate names the file and line of a bad setting, or the environment
// variable when one set it (the file's line would point at a value that
// was overridden).
func (c *Config) validate(path string, root *yaml.Node, fromEnv map[string]bool) error {
	check := func(field string, bad bool, format string, args ...any) error {
		if !bad {
			return nil
		}
		if fromEnv[field] {
			return &Error{Source: "environment", Field: EnvName(field), Msg: fmt.Sprintf(format, args...)}
		}
		src := path
		if src == "" {
			src = "config"
		}
		return &Error{Source: src, Line: lineOf(root, field), Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	_, tzErr := time.LoadLocation(c.Timezone)
	checks := []error{
		check("brokers", len(c.Brokers) == 0, "at least one broker address is needed"),
		check("data", c.Data == "", "must name a folder"),
		check("addr", c.Addr == "", "must be a listen address like :8080"),
		check("timezone", tzErr != nil, "unknown time zone %q (use an IANA name like Asia/Shanghai)", c.Timezone),
		check("log_level", !oneOf(c.LogLevel, "debug", "info", "warn", "error"), "must be debug, info, warn or error, got %q", c.LogLevel),
		check("kafka.sasl_mechanism", !oneOf(strings.ToLower(c.Kafka.SASLMechanism), "", "plain", "scram-sha-256", "scram-sha-512"),
			"must be empty, plain, scram-sha-256 or scram-sha-512, got %q", c.Kafka.SASLMechanism),
		check("kafka.sasl_username", c.Kafka.SASLMechanism != "" && c.Kafka.SASLUsername == "", "is needed with a SASL mechanism"),
		check("kafka.tls_ca_file", c.Kafka.TLSCAFile != "" && !fileExists(c.Kafka.TLSCAFile), "no such file: %q", c.Kafka.TLSCAFile),
		check("kafka.tls_ca_file", c.Kafka.TLSCAFile != "" && !c.Kafka.TLS, "is set but kafka.tls is false"),
		check("topics.crm", c.Topics.CRM == "", "must name a topic"),
		check("topics.finance", c.Topics.Finance == "", "must name a topic"),
		check("topics.ticket", c.Topics.Ticket == "", "must name a topic"),
		check("ingest.group_id", c.Ingest.GroupID == "", "must name a consumer group"),
		check("ingest.consumers", c.Ingest.Consumers < 1 || c.Ingest.Consumers > 64, "must be between 1 and 64, got %d", c.Ingest.Consumers),
		check("ingest.start_from", !oneOf(c.Ingest.StartFrom, "earliest", "latest"), "must be earliest or latest, got %q", c.Ingest.StartFrom),
		check("ingest.flush_rows", c.Ingest.FlushRows < 1, "must be at least 1, got %d", c.Ingest.FlushRows),
		check("ingest.flush_bytes", c.Ingest.FlushBytes < 1<<10, "must be at least 1KiB, got %d", c.Ingest.FlushBytes),
		check("ingest.flush_interval", c.Ingest.FlushInterval < time.Millisecond, "must be at least 1ms, got %s", c.Ingest.FlushInterval),
		check("ingest.max_message_bytes", c.Ingest.MaxMessageBytes < 1<<10, "must be at least 1KiB, got %d", c.Ingest.MaxMessageBytes),
		check("ingest.refused_raw_bytes", c.Ingest.RefusedRawBytes < 0, "must not be negative"),
		check("ingest.fetch_max_bytes", c.Ingest.FetchMaxBytes < c.Ingest.MaxMessageBytes, "must be at least ingest.max_message_bytes (%d), got %d", c.Ingest.MaxMessageBytes, c.Ingest.FetchMaxBytes),
		check("ingest.fetch_max_wait", c.Ingest.FetchMaxWait < time.Millisecond, "must be at least 1ms"),
		check("ingest.queue_capacity", c.Ingest.QueueCapacity < 1, "must be at least 1"),
		check("ingest.session_timeout", c.Ingest.SessionTimeout < time.Second || c.Ingest.SessionTimeout > 30*time.Minute,
			"must be between 1s and 30m, got %s", c.Ingest.SessionTimeout),
		check("warehouse.file", c.Warehouse.File == "" || strings.ContainsAny(c.Warehouse.File, `/\`), "must be a file name inside the data folder, got %q", c.Warehouse.File),
		check("warehouse.threads", c.Warehouse.Threads < 0, "must be 0 (all cores) or more"),
		check("warehouse.idle_checkpoint", c.Warehouse.IdleCheckpoint < 0, "must not be negative"),
		check("generator.days", c.Generator.Days < 0, "must not be negative"),
		check("generator.employees", c.Generator.Employees < 5, "must be at least 5, got %d", c.Generator.Employees),
		check("generator.rate", c.Generator.Rate < 0, "must not be negative"),
		check("generator.bad_rate", c.Generator.BadRate < 0 || c.Generator.BadRate > 1, "must be between 0 and 1, got %v", c.Generator.BadRate),
	}
	return errors.Join(checks...)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func oneOf(s string, set ...string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// Location is the business time zone; Validate has checked it loads.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}
