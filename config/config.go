// Package config loads Pulse's settings: defaults, then a strict YAML file,
// then PULSE_* environment variables, then command-line flags. Every error
// names the setting (with map keys and list indices, as in
// scorecards.roles.sales[1].target), and for the file the line it stands
// on. Settings that are maps or lists of sections (kpis.sla_minutes,
// scorecards.roles) have no text form, so no variable and no flag.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
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

	Transform  Transform  `yaml:"transform"`
	Calendar   Calendar   `yaml:"calendar"`
	KPIs       KPIs       `yaml:"kpis"`
	Scorecards Scorecards `yaml:"scorecards"`
	Alerts     Alerts     `yaml:"alerts"`
	Query      Query      `yaml:"query"`
	Dashboards Dashboards `yaml:"dashboards"`
	Backup     Backup     `yaml:"backup"`

	Server Server `yaml:"server"`

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
	// TrimInterval is how often freed C memory (DuckDB's) is handed back
	// to the system; 0 never.
	TrimInterval time.Duration `yaml:"trim_interval"`
}

// Transform configures the scheduler that refreshes the models from the
// raw events.
type Transform struct {
	// Interval is how often the scheduler looks for newly landed events.
	Interval time.Duration `yaml:"interval"`
	// MaxIdle is the longest the models go without a refresh when no event
	// lands: running periods depend on the clock.
	MaxIdle time.Duration `yaml:"max_idle"`
	// Concurrency is how many models run at once.
	Concurrency int `yaml:"concurrency"`
}

// Calendar is the working calendar: Monday to Friday, minus holidays, plus
// make-up days. Dates are YYYY-MM-DD in the business time zone.
type Calendar struct {
	Holidays   []string `yaml:"holidays"`
	MakeupDays []string `yaml:"makeup_days"`
}

// KPIs are the settings of the KPI definitions of metrics.md.
type KPIs struct {
	// SLAMinutes is the first-response SLA of each ticket priority (all
	// four of metric.Priorities). File only.
	SLAMinutes map[string]int `yaml:"sla_minutes"`
	// ProfileFields are the customer fields whose share of filled values
	// is a customer's completeness.
	ProfileFields []string `yaml:"profile_fields"`
	// CloseGrace is how long after its end a month or quarter is frozen
	// (by the first transform run once ingest has caught up).
	CloseGrace time.Duration `yaml:"close_grace"`
}

// Scorecards are the scorecards of metrics.md.
type Scorecards struct {
	// Cap caps a sub-score at Cap × 100.
	Cap float64 `yaml:"cap"`
	// Roles are the scorecard lines by employee role. A file that gives
	// roles replaces the default map as a whole. File only.
	Roles map[string][]ScoreLine `yaml:"roles"`
}

// ScoreLine is one KPI of a role's scorecard.
type ScoreLine struct {
	KPI    string      `yaml:"kpi"`
	Weight float64     `yaml:"weight"`
	Target ScoreTarget `yaml:"target"`
	// Direction is higher (higher is better, the default) or lower.
	Direction string `yaml:"direction"`
}

func (l *ScoreLine) setDefaults() { l.Direction = "higher" }

// FromTargets is how a file writes a target taken from target.set events.
const FromTargets = "from_targets"

// ScoreTarget is a scorecard line's target: a number, or (FromTargets) the
// employee's target.set value for the KPI's metric.
type ScoreTarget struct {
	Value       float64
	FromTargets bool
}

// String gives the target as a file writes it.
func (t ScoreTarget) String() string {
	if t.FromTargets {
		return FromTargets
	}
	return strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// UnmarshalYAML reads a number or from_targets.
func (t *ScoreTarget) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str":
			if n.Value == FromTargets {
				*t = ScoreTarget{FromTargets: true}
				return nil
			}
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err == nil {
				*t = ScoreTarget{Value: f}
				return nil
			}
		}
		return fmt.Errorf("line %d: must be a number or %s, got %q", n.Line, FromTargets, n.Value)
	}
	return fmt.Errorf("line %d: must be a number or %s, got %s", n.Line, FromTargets, n.ShortTag())
}

// Query bounds analysts' ad-hoc SQL (POST /api/query).
type Query struct {
	// MaxRows is the most rows a result returns (it says when it was cut).
	MaxRows int `yaml:"max_rows"`
	// Timeout interrupts a query that runs longer.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrent queries run at once; more wait briefly, then are
	// refused, so that dashboards stay fast.
	MaxConcurrent int `yaml:"max_concurrent"`
	// RatePerMinute and Burst size each user's token bucket of queries:
	// Burst at once, then RatePerMinute a minute; more get 429.
	RatePerMinute int `yaml:"rate_per_minute"`
	Burst         int `yaml:"burst"`
	// HistoryKeep is how many queries each user's history keeps; older
	// entries are trimmed.
	HistoryKeep int `yaml:"history_keep"`
}

// Server hardens the HTTP server.
type Server struct {
	// TrustedProxies are CIDRs (or IPs) of the reverse proxies in front of
	// Pulse: only from them are X-Forwarded-For (the client's address, for
	// sign-in limits) and X-Forwarded-Proto believed. Empty: the TCP peer
	// is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxBody bounds a request body under /api; larger ones get 413.
	MaxBody ByteSize `yaml:"max_body"`
	// DebugAddr, when set, serves Go's runtime profiles (/debug/pprof/)
	// on this host:port, without sign-in: keep it on loopback.
	DebugAddr string `yaml:"debug_addr"`
}

// Dashboards configures the dashboards the server offers.
type Dashboards struct {
	// Dir is a folder of dashboard YAML files, reloaded when they change;
	// "" serves the dashboards shipped in the binary.
	Dir string `yaml:"dir"`
	// ReloadInterval is how often Dir is looked at for changes.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// MaxRows caps a tile's rows; the answer says when it was cut.
	MaxRows int `yaml:"max_rows"`
	// Timeout interrupts a tile's query.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrent tile queries run at once; more wait their turn.
	MaxConcurrent int `yaml:"max_concurrent"`
	// LeaderboardCircle is who a viewer who does not see everyone is
	// ranked among on employee leaderboards (name, value and rank only):
	// team, company or self.
	LeaderboardCircle string `yaml:"leaderboard_circle"`
}

// Backup configures POST /api/admin/backup (pulse backup).
type Backup struct {
	// Dir is the folder backups are written into, each as a folder
	// directly inside it; "" turns backups off (the endpoint answers 503).
	// An admin's request can name a backup, never a place outside Dir.
	Dir string `yaml:"dir"`
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
			TrimInterval:        30 * time.Second,
		},
		Transform: Transform{Interval: 5 * time.Second, MaxIdle: time.Minute, Concurrency: 2},
		KPIs: KPIs{
			SLAMinutes:    map[string]int{"urgent": 60, "high": 240, "normal": 480, "low": 1440},
			ProfileFields: []string{"phone", "email", "industry", "region", "source", "needs"},
			CloseGrace:    72 * time.Hour,
		},
		Scorecards: Scorecards{
			Cap: 1.2,
			Roles: map[string][]ScoreLine{
				"sales": {
					{KPI: "revenue", Weight: 40, Target: ScoreTarget{FromTargets: true}, Direction: "higher"},
					{KPI: "visits", Weight: 20, Target: ScoreTarget{Value: 20}, Direction: "higher"},
					{KPI: "customer_coverage", Weight: 20, Target: ScoreTarget{Value: 0.8}, Direction: "higher"},
					{KPI: "followup_timeliness", Weight: 10, Target: ScoreTarget{Value: 0.9}, Direction: "higher"},
					{KPI: "completeness", Weight: 10, Target: ScoreTarget{Value: 0.9}, Direction: "higher"},
				},
				"service": {
					{KPI: "first_response_minutes", Weight: 30, Target: ScoreTarget{Value: 60}, Direction: "lower"},
					{KPI: "resolution_rate", Weight: 30, Target: ScoreTarget{Value: 0.9}, Direction: "higher"},
					{KPI: "csat_avg", Weight: 30, Target: ScoreTarget{Value: 4.5}, Direction: "higher"},
					{KPI: "complaint_resolution_hours", Weight: 10, Target: ScoreTarget{Value: 24}, Direction: "lower"},
				},
			},
		},
		Alerts: defaultAlerts(),
		Query: Query{MaxRows: 10000, Timeout: 30 * time.Second, MaxConcurrent: 2,
			RatePerMinute: 60, Burst: 10, HistoryKeep: 1000},
		Dashboards: Dashboards{ReloadInterval: 2 * time.Second, MaxRows: 5000, Timeout: 10 * time.Second,
			MaxConcurrent: 4, LeaderboardCircle: "team"},
		Server:    Server{MaxBody: 1 << 20},
		Generator: Generator{Seed: 1, Days: 90, Employees: 60, Rate: 1},
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

// EnvName is the environment variable of a dotted setting path.
func EnvName(path string) string {
	return "PULSE_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// fields lists every settable leaf of cfg by dotted YAML path; a map or a
// list is one leaf.
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

// fileOnly reports whether a setting has no text form, so no environment
// variable or flag: maps (kpis.sla_minutes) and lists of sections
// (scorecards.roles). pulse.example.yaml says so in their comments.
func fileOnly(fv reflect.Value) bool {
	return fv.Kind() == reflect.Map || fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.String
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
	if fileOnly(fv) {
		return fmt.Errorf("%s is set in a config file only", path)
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
		// calendar.holidays[2] was set by PULSE_CALENDAR_HOLIDAYS.
		for setting := range fromEnv {
			if field == setting || strings.HasPrefix(field, setting+"[") {
				return &Error{Source: "environment", Field: EnvName(setting), Msg: fmt.Sprintf(format, args...)}
			}
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
		check("warehouse.trim_interval", c.Warehouse.TrimInterval < 0, "must not be negative"),
	}
	checks = append(checks, c.validateModels(check)...)
	checks = append(checks, c.validateAlerts(check)...)
	checks = append(checks,
		check("query.max_rows", c.Query.MaxRows < 1 || c.Query.MaxRows > 10_000_000, "must be between 1 and 10000000, got %d", c.Query.MaxRows),
		check("query.timeout", c.Query.Timeout < 100*time.Millisecond, "must be at least 100ms, got %s", c.Query.Timeout),
		check("query.max_concurrent", c.Query.MaxConcurrent < 1 || c.Query.MaxConcurrent > 64, "must be between 1 and 64, got %d", c.Query.MaxConcurrent),
		check("query.rate_per_minute", c.Query.RatePerMinute < 1 || c.Query.RatePerMinute > 100_000, "must be between 1 and 100000, got %d", c.Query.RatePerMinute),
		check("query.burst", c.Query.Burst < 1 || c.Query.Burst > 10_000, "must be between 1 and 10000, got %d", c.Query.Burst),
		check("query.history_keep", c.Query.HistoryKeep < 1 || c.Query.HistoryKeep > 1_000_000, "must be between 1 and 1000000, got %d", c.Query.HistoryKeep),
		check("server.max_body", c.Server.MaxBody < 1<<10 || c.Server.MaxBody > 1<<30, "must be between 1KiB and 1GiB, got %d", c.Server.MaxBody),
		check("server.debug_addr", c.Server.DebugAddr != "" && !isHostPort(c.Server.DebugAddr), "must be host:port, like 127.0.0.1:6060, got %q", c.Server.DebugAddr),
		check("dashboards.reload_interval", c.Dashboards.ReloadInterval < 100*time.Millisecond, "must be at least 100ms, got %s", c.Dashboards.ReloadInterval),
		check("dashboards.max_rows", c.Dashboards.MaxRows < 1 || c.Dashboards.MaxRows > 1_000_000, "must be between 1 and 1000000, got %d", c.Dashboards.MaxRows),
		check("dashboards.timeout", c.Dashboards.Timeout < 100*time.Millisecond, "must be at least 100ms, got %s", c.Dashboards.Timeout),
		check("dashboards.max_concurrent", c.Dashboards.MaxConcurrent < 1 || c.Dashboards.MaxConcurrent > 64, "must be between 1 and 64, got %d", c.Dashboards.MaxConcurrent),
		check("backup.dir", c.Backup.Dir != "" && !filepath.IsAbs(c.Backup.Dir), "must be an absolute path, got %q", c.Backup.Dir),
		check("backup.dir", c.Backup.Dir != "" && c.Data != "" && pathWithin(c.Backup.Dir, c.Data),
			"must not be inside the data folder %q (a backup beside the database is lost with it)", c.Data),
		check("dashboards.leaderboard_circle", !oneOf(c.Dashboards.LeaderboardCircle, "team", "company", "self"),
			"must be team, company or self, got %q", c.Dashboards.LeaderboardCircle),
	)
	for i, p := range c.Server.TrustedProxies {
		checks = append(checks, check(fmt.Sprintf("server.trusted_proxies[%d]", i), !isCIDROrIP(p),
			"must be a CIDR like 10.0.0.0/8 or an IP address, got %q", p))
	}
	checks = append(checks,
		check("generator.days", c.Generator.Days < 0, "must not be negative"),
		check("generator.employees", c.Generator.Employees < 5, "must be at least 5, got %d", c.Generator.Employees),
		check("generator.rate", c.Generator.Rate < 0, "must not be negative"),
		check("generator.bad_rate", c.Generator.BadRate < 0 || c.Generator.BadRate > 1, "must be between 0 and 1, got %v", c.Generator.BadRate),
	)
	return errors.Join(checks...)
}

func isCIDROrIP(s string) bool {
	if _, _, err := net.ParseCIDR(s); err == nil {
		return true
	}
	return net.ParseIP(s) != nil
}

// isHostPort reports whether s is host:port with a numeric port.
func isHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// pathWithin reports whether path is dir or inside it.
func pathWithin(path, dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(abs, filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
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
