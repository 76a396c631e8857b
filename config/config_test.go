package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDefaultValidates(t *testing.T) {
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Default() does not validate: %v", err)
	}
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load with no file and no environment: %v", err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(\"\", nil) = %+v, want Default()", cfg)
	}
	// Each call returns its own slices and maps.
	a, b := Default(), Default()
	a.Brokers[0] = "changed"
	a.KPIs.SLAMinutes["urgent"] = 1
	a.KPIs.ProfileFields[0] = "changed"
	a.Scorecards.Roles["sales"][0].Weight = 1
	a.Scorecards.Roles["marketing"] = nil
	if !reflect.DeepEqual(b, Default()) {
		t.Error("Default() shares slices or maps between calls")
	}
}

// goodConfig is what testdata/good.yaml says.
func goodConfig() Config {
	want := Default()
	want.Brokers = []string{"kafka-1:9092", "kafka-2:9092"}
	want.Data = "/var/lib/pulse"
	want.Addr = "127.0.0.1:9000"
	want.Timezone = "Asia/Shanghai"
	want.LogLevel = "debug"
	want.Topics = Topics{CRM: "acme.crm", Finance: "acme.finance", Ticket: "acme.tickets"}
	want.Ingest = Ingest{
		GroupID:         "pulse-test",
		Consumers:       4,
		StartFrom:       "latest",
		FlushRows:       50000,
		FlushBytes:      32 << 20,
		FlushInterval:   2 * time.Second,
		MaxMessageBytes: 512 << 10,
		RefusedRawBytes: 4096,
		FetchMaxBytes:   8 << 20,
		FetchMaxWait:    100 * time.Millisecond,
		QueueCapacity:   500,
		SessionTimeout:  30 * time.Second,
	}
	want.Warehouse = Warehouse{
		File:                "test.duckdb",
		Threads:             2,
		MemoryLimit:         "2GB",
		CheckpointThreshold: "256MB",
		IdleCheckpoint:      time.Minute,
		TrimInterval:        10 * time.Second,
	}
	want.Transform = Transform{Interval: 2 * time.Second, MaxIdle: 30 * time.Second, Concurrency: 4}
	want.Calendar = Calendar{
		Holidays:   []string{"2025-10-01", "2025-10-02", "2025-10-03"},
		MakeupDays: []string{"2025-09-28", "2025-10-11"},
	}
	want.KPIs = KPIs{
		SLAMinutes:    map[string]int{"urgent": 30, "high": 120, "normal": 480, "low": 2880},
		ProfileFields: []string{"phone", "email", "wechat_id"},
		CloseGrace:    24 * time.Hour,
	}
	sales := func() []ScoreLine {
		return []ScoreLine{
			{KPI: "revenue", Weight: 50, Target: ScoreTarget{FromTargets: true}, Direction: "higher"},
			{KPI: "visits", Weight: 25.5, Target: ScoreTarget{Value: 15}, Direction: "higher"},
			{KPI: "first_response_minutes", Weight: 1, Target: ScoreTarget{Value: 1000}, Direction: "lower"},
		}
	}
	want.Scorecards = Scorecards{Cap: 1.5, Roles: map[string][]ScoreLine{"sales": sales(), "manager": sales()}}
	want.Generator = Generator{Seed: 42, Days: 30, Employees: 12, Rate: 12.5, BadRate: 0.01}
	return want
}

func TestFileOverridesDefaults(t *testing.T) {
	cfg, err := Load("testdata/good.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := goodConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	if cfg.Location().String() != "Asia/Shanghai" {
		t.Errorf("Location() = %v", cfg.Location())
	}
}

// writeFile writes a config file in a temporary folder.
func writeFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pulse.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPartialFileKeepsOtherDefaults(t *testing.T) {
	cfg, err := Load(writeFile(t, "ingest:\n  flush_rows: 7\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Ingest.FlushRows = 7
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
	for _, src := range []string{"", "# nothing but a comment\n", "ingest:\n", "ingest:\n  flush_bytes:\n"} {
		cfg, err := Load(writeFile(t, src), nil)
		if err != nil || !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("%q: %v, %+v", src, err, cfg)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	env := []string{
		"HOME=/root",
		"PULSE_BROKERS=a:1, b:2",
		"PULSE_INGEST_FLUSH_ROWS=5",
		"PULSE_ADMIN_TOKEN=s3cret",
		"PULSE_INGEST_FLUSH_INTERVAL=50ms",
		"PULSE_INGEST_FLUSH_BYTES=1MiB",
		"PULSE_GENERATOR_RATE=2.5",
		"PULSE_TOPICS_CRM=other.crm",
		"PULSE_TRANSFORM_INTERVAL=250ms",
		"PULSE_TRANSFORM_MAX_IDLE=10s",
		"PULSE_TRANSFORM_CONCURRENCY=8",
		"PULSE_CALENDAR_HOLIDAYS=2026-01-01, 2026-02-17",
		"PULSE_CALENDAR_MAKEUP_DAYS=",
		"PULSE_KPIS_PROFILE_FIELDS=phone,needs",
		"PULSE_KPIS_CLOSE_GRACE=1h",
		"PULSE_SCORECARDS_CAP=1",
		"PULSE_SOMETHING_ELSE=ignored", // belongs to scripts
		"PULSE_NO_EQUALS_SIGN",
	}
	cfg, err := Load("testdata/good.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	want := goodConfig()
	want.Brokers = []string{"a:1", "b:2"}
	want.Ingest.FlushRows = 5
	want.AdminToken = "s3cret"
	want.Ingest.FlushInterval = 50 * time.Millisecond
	want.Ingest.FlushBytes = 1 << 20
	want.Generator.Rate = 2.5
	want.Topics.CRM = "other.crm"
	want.Transform = Transform{Interval: 250 * time.Millisecond, MaxIdle: 10 * time.Second, Concurrency: 8}
	want.Calendar = Calendar{Holidays: []string{"2026-01-01", "2026-02-17"}}
	want.KPIs.ProfileFields = []string{"phone", "needs"}
	want.KPIs.CloseGrace = time.Hour
	want.Scorecards.Cap = 1
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}

	// The last of repeated variables wins, as in a shell.
	cfg, err = Load("", []string{"PULSE_INGEST_FLUSH_ROWS=5", "PULSE_INGEST_FLUSH_ROWS=6"})
	if err != nil || cfg.Ingest.FlushRows != 6 {
		t.Errorf("repeated variable: %v, flush_rows %d", err, cfg.Ingest.FlushRows)
	}
	// The admin token comes from the environment only.
	if cfg, _ := Load("testdata/good.yaml", nil); cfg.AdminToken != "" {
		t.Errorf("AdminToken %q without PULSE_ADMIN_TOKEN", cfg.AdminToken)
	}
}

func TestSetOverridesEnv(t *testing.T) {
	cfg, err := Load("testdata/good.yaml", []string{"PULSE_INGEST_FLUSH_ROWS=5", "PULSE_BROKERS=a:1"})
	if err != nil {
		t.Fatal(err)
	}
	// What the flags of cmd/pulse do: Set, then Validate.
	for path, text := range map[string]string{
		"ingest.flush_rows":     "9",
		"brokers":               "c:3,,d:4,",
		"ingest.flush_interval": "1.5s",
		"ingest.flush_bytes":    "2MiB",
		"generator.seed":        "-7",
		"generator.bad_rate":    "0.25",
		"log_level":             "warn",
	} {
		if err := cfg.Set(path, text); err != nil {
			t.Fatalf("Set(%q, %q): %v", path, text, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := goodConfig()
	want.Ingest.FlushRows = 9
	want.Brokers = []string{"c:3", "d:4"}
	want.Ingest.FlushInterval = 1500 * time.Millisecond
	want.Ingest.FlushBytes = 2 << 20
	want.Generator.Seed = -7
	want.Generator.BadRate = 0.25
	want.LogLevel = "warn"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestSetRefuses(t *testing.T) {
	for _, tt := range []struct{ path, text, msg string }{
		{"ingest.flush_rowz", "1", "unknown setting"},
		{"ingest", "1", "unknown setting"},
		{"admin_token", "x", "unknown setting"}, // env-only
		{"ingest.flush_rows", "lots", "not a whole number"},
		{"ingest.flush_rows", "1.5", "not a whole number"},
		{"ingest.flush_interval", "500", "not a duration"},
		{"ingest.flush_bytes", "12 parsecs", "not a size"},
		{"ingest.flush_bytes", "-1", "not a size"},
		{"generator.rate", "fast", "not a number"},
	} {
		cfg := Default()
		err := cfg.Set(tt.path, tt.text)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Set(%q, %q) = %v, want %q", tt.path, tt.text, err, tt.msg)
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("Set(%q, %q) changed the config", tt.path, tt.text)
		}
	}
	// A bad value given by a flag is caught by Validate, without a line.
	cfg := Default()
	if err := cfg.Set("ingest.consumers", "0"); err != nil {
		t.Fatal(err)
	}
	var ce *Error
	if err := cfg.Validate(); !errors.As(err, &ce) || ce.Field != "ingest.consumers" || ce.Line != 0 || ce.Source != "config" {
		t.Errorf("Validate after a bad flag: %#v", ce)
	}
}

func TestEnvErrors(t *testing.T) {
	for _, tt := range []struct {
		env, field, msg string
	}{
		{"PULSE_INGEST_FLUSH_ROWS=lots", "PULSE_INGEST_FLUSH_ROWS", "not a whole number"},
		{"PULSE_INGEST_FLUSH_INTERVAL=5", "PULSE_INGEST_FLUSH_INTERVAL", "not a duration"},
		{"PULSE_INGEST_MAX_MESSAGE_BYTES=1 parsec", "PULSE_INGEST_MAX_MESSAGE_BYTES", "not a size"},
		{"PULSE_GENERATOR_BAD_RATE=often", "PULSE_GENERATOR_BAD_RATE", "not a number"},
		// Values that parse but do not validate name the variable, not
		// the line of the file whose value they replaced.
		{"PULSE_INGEST_CONSUMERS=0", "PULSE_INGEST_CONSUMERS", "between 1 and 64"},
		{"PULSE_TIMEZONE=Mars/Olympus", "PULSE_TIMEZONE", "unknown time zone"},
		{"PULSE_BROKERS=", "PULSE_BROKERS", "at least one broker"},
		{"PULSE_TRANSFORM_INTERVAL=5", "PULSE_TRANSFORM_INTERVAL", "not a duration"},
		{"PULSE_TRANSFORM_INTERVAL=10ms", "PULSE_TRANSFORM_INTERVAL", "at least 100ms"},
		{"PULSE_TRANSFORM_MAX_IDLE=1s", "PULSE_TRANSFORM_MAX_IDLE", "at least transform.interval"},
		{"PULSE_TRANSFORM_CONCURRENCY=0", "PULSE_TRANSFORM_CONCURRENCY", "between 1 and 16"},
		// A bad item of a list names the variable and the bad value.
		{"PULSE_CALENDAR_HOLIDAYS=2026-01-01,2026-13-01", "PULSE_CALENDAR_HOLIDAYS", `"2026-13-01" is not a date`},
		{"PULSE_CALENDAR_HOLIDAYS=2026-01-01,2026-01-01", "PULSE_CALENDAR_HOLIDAYS", "2026-01-01 is already"},
		{"PULSE_CALENDAR_MAKEUP_DAYS=2026-01-05", "PULSE_CALENDAR_MAKEUP_DAYS", "is a Monday"},
		{"PULSE_KPIS_PROFILE_FIELDS=phone,e mail", "PULSE_KPIS_PROFILE_FIELDS", `"e mail" is not a field name`},
		{"PULSE_KPIS_PROFILE_FIELDS=", "PULSE_KPIS_PROFILE_FIELDS", "at least one field"},
		{"PULSE_KPIS_CLOSE_GRACE=0s", "PULSE_KPIS_CLOSE_GRACE", "must be above 0"},
		{"PULSE_SCORECARDS_CAP=0.99", "PULSE_SCORECARDS_CAP", "at least 1"},
		{"PULSE_SCORECARDS_CAP=NaN", "PULSE_SCORECARDS_CAP", "at least 1"},
		{"PULSE_SCORECARDS_ROLES=sales", "PULSE_SCORECARDS_ROLES", "config file only"},
		{"PULSE_DASHBOARDS_MAX_ROWS=0", "PULSE_DASHBOARDS_MAX_ROWS", "between 1 and 1000000"},
		{"PULSE_DASHBOARDS_TIMEOUT=1ms", "PULSE_DASHBOARDS_TIMEOUT", "at least 100ms"},
		{"PULSE_DASHBOARDS_RELOAD_INTERVAL=0s", "PULSE_DASHBOARDS_RELOAD_INTERVAL", "at least 100ms"},
		{"PULSE_DASHBOARDS_LEADERBOARD_CIRCLE=world", "PULSE_DASHBOARDS_LEADERBOARD_CIRCLE", "team, company or self"},
		{"PULSE_BACKUP_DIR=backups", "PULSE_BACKUP_DIR", "absolute path"},
	} {
		for _, file := range []string{"", "testdata/good.yaml"} {
			_, err := Load(file, []string{tt.env})
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%s with file %q: %T %v, want *config.Error", tt.env, file, err, err)
				continue
			}
			if ce.Source != "environment" || ce.Field != tt.field || ce.Line != 0 || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("%s with file %q: %#v, want environment %s %q", tt.env, file, ce, tt.field, tt.msg)
			}
		}
	}
}

// badFiles lists testdata/bad_*.yaml. Each file's first line says the same
// in words ("# expect: line N, field F (why)"); the test checks the two
// agree, so a file edited without its comment fails.
var badFiles = []struct {
	file  string
	line  int
	field string
	msg   string // part of Error.Msg
}{
	{"bad_unknown_key.yaml", 7, "ingest.flush_rowz", "unknown setting"},
	{"bad_unknown_top.yaml", 3, "borkers", "unknown setting"},
	{"bad_admin_token.yaml", 4, "admin_token", "unknown setting"},
	{"bad_type.yaml", 4, "ingest.flush_rows", "cannot unmarshal"},
	{"bad_float_int.yaml", 4, "ingest.flush_rows", "not a whole number"},
	{"bad_value_next_line.yaml", 5, "ingest.flush_rows", "cannot unmarshal"},
	{"bad_list_item.yaml", 5, "brokers[1]", "cannot unmarshal"},
	{"bad_list_scalar.yaml", 3, "topics", "cannot unmarshal"},
	{"bad_duration_int.yaml", 3, "ingest.flush_interval", "cannot unmarshal"},
	{"bad_duplicate.yaml", 4, "ingest.flush_rows", "already defined"},
	{"bad_size.yaml", 5, "ingest.flush_bytes", "not a size"},
	{"bad_size_overflow.yaml", 3, "ingest.flush_bytes", "not a size"},
	{"bad_consumers.yaml", 6, "ingest.consumers", "between 1 and 64"},
	{"bad_timezone.yaml", 4, "timezone", "unknown time zone"},
	{"bad_flush_interval.yaml", 5, "ingest.flush_interval", "at least 1ms"},
	{"bad_fetch_max_bytes.yaml", 4, "ingest.fetch_max_bytes", "at least ingest.max_message_bytes"},
	{"bad_warehouse_file.yaml", 5, "warehouse.file", "file name inside the data folder"},
	{"bad_trim_interval.yaml", 4, "warehouse.trim_interval", "must not be negative"},
	{"bad_syntax.yaml", 4, "(file)", "mapping values are not allowed"},

	{"bad_interval.yaml", 3, "transform.interval", "at least 100ms"},
	{"bad_max_idle.yaml", 4, "transform.max_idle", "at least transform.interval (10s)"},
	{"bad_concurrency.yaml", 4, "transform.concurrency", "between 1 and 16"},
	{"bad_date.yaml", 5, "calendar.holidays[1]", `"2025-02-30" is not a date`},
	{"bad_date_format.yaml", 3, "calendar.makeup_days[0]", `"2025/09/28" is not a date`},
	{"bad_date_duplicate.yaml", 6, "calendar.holidays[2]", "2025-10-01 is already calendar.holidays[0]"},
	{"bad_holiday_makeup.yaml", 6, "calendar.makeup_days[1]", "also calendar.holidays[1]"},
	{"bad_makeup_weekday.yaml", 3, "calendar.makeup_days[0]", "is a Wednesday"},
	{"bad_sla_missing.yaml", 3, "kpis.sla_minutes", "no SLA for priority low"},
	{"bad_sla_unknown.yaml", 4, "kpis.sla_minutes.critical", "not a ticket priority"},
	{"bad_sla_zero.yaml", 3, "kpis.sla_minutes.urgent", "positive number of minutes"},
	{"bad_sla_float.yaml", 4, "kpis.sla_minutes.urgent", "not a whole number"},
	{"bad_profile_field.yaml", 5, "kpis.profile_fields[1]", `"e-mail" is not a field name`},
	{"bad_profile_empty.yaml", 3, "kpis.profile_fields", "at least one field"},
	{"bad_close_grace.yaml", 3, "kpis.close_grace", "must be above 0"},
	{"bad_cap.yaml", 3, "scorecards.cap", "at least 1"},
	{"bad_roles_list.yaml", 3, "scorecards.roles", "cannot unmarshal"},
	{"bad_score_role.yaml", 4, "scorecards.roles.engineer", "not an employee role"},
	{"bad_score_empty_role.yaml", 4, "scorecards.roles.sales", "at least one KPI"},
	{"bad_score_kpi.yaml", 6, "scorecards.roles.sales[1].kpi", `"vistis" is not a KPI`},
	{"bad_score_duplicate_kpi.yaml", 7, "scorecards.roles.sales[2].kpi", "revenue is already scorecards.roles.sales[0]"},
	{"bad_score_target.yaml", 7, "scorecards.roles.sales[1].target", `must be a number or from_targets, got "twenty"`},
	{"bad_score_from_targets.yaml", 5, "scorecards.roles.service[0].target", "from_targets needs a KPI that target.set names"},
	{"bad_score_direction.yaml", 9, "scorecards.roles.service[0].direction", `must be higher or lower, got "down"`},
	{"bad_score_unknown_key.yaml", 6, "scorecards.roles.sales[1].dirction", "unknown setting"},
	{"bad_score_duplicate_key.yaml", 5, "scorecards.roles.sales[0].weight", "already defined at line 5"},
	{"bad_score_no_weight.yaml", 6, "scorecards.roles.sales[1].weight", "must be a number above 0, got 0"},
	{"bad_score_line_scalar.yaml", 5, "scorecards.roles.sales[0]", "cannot unmarshal !!str `visits` into config.ScoreLine"},
}

var expectComment = regexp.MustCompile(`^# expect: line (\d+), field (\S+) \(`)

func TestBadFiles(t *testing.T) {
	listed := map[string]bool{}
	for _, tt := range badFiles {
		listed[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			m := expectComment.FindStringSubmatch(first)
			if m == nil || m[1] != strconv.Itoa(tt.line) || m[2] != tt.field {
				t.Fatalf("first line %q does not say line %d, field %s", first, tt.line, tt.field)
			}

			_, err = Load(path, nil)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %T %v, want *config.Error", err, err)
			}
			// Each file is wrong in one way only.
			if joined, ok := err.(interface{ Unwrap() []error }); ok && len(joined.Unwrap()) != 1 {
				t.Errorf("%d errors, want 1: %v", len(joined.Unwrap()), err)
			}
			if ce.Source != path || ce.Line != tt.line || ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("got %#v\nwant line %d, field %s, message with %q", ce, tt.line, tt.field, tt.msg)
			}
			// The message a person reads says where and what.
			prefix := path + ":" + strconv.Itoa(tt.line) + ": " + tt.field + ": "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Error() = %q, want it to start with %q", err, prefix)
			}
		})
	}
	files, err := filepath.Glob("testdata/bad_*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not in badFiles", f)
		}
	}
}

// Validation reports every bad setting at once, each with its line.
func TestValidateReportsAll(t *testing.T) {
	path := writeFile(t, "log_level: loud\ningest:\n  consumers: 0\nwarehouse:\n  threads: -1\n")
	_, err := Load(path, nil)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Load = %T %v, want several errors", err, err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		ce := e.(*Error)
		got = append(got, ce.Field+":"+strconv.Itoa(ce.Line))
	}
	if want := []string{"log_level:1", "ingest.consumers:3", "warehouse.threads:5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestBackupDirOutsideData: a backup folder inside the data folder is
// refused (losing the disk would lose both).
func TestBackupDirOutsideData(t *testing.T) {
	data := t.TempDir()
	cfg := Default()
	cfg.Data = data
	cfg.Backup.Dir = filepath.Join(data, "backups")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "backup.dir") {
		t.Errorf("inside the data folder: %v", err)
	}
	cfg.Backup.Dir = filepath.Join(filepath.Dir(data), "elsewhere")
	if err := cfg.Validate(); err != nil {
		t.Errorf("outside the data folder: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no_such_file.yaml", nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v", err)
	}
}

func TestErrorString(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{Source: "pulse.yaml", Line: 7, Field: "ingest.flush_rowz", Msg: "unknown setting"}, "pulse.yaml:7: ingest.flush_rowz: unknown setting"},
		{Error{Source: "environment", Field: "PULSE_INGEST_FLUSH_ROWS", Msg: `not a whole number: "x"`}, `environment: PULSE_INGEST_FLUSH_ROWS: not a whole number: "x"`},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ByteSize
	}{
		{"0", 0}, {"65536", 65536}, {"100B", 100}, {"64KiB", 64 << 10}, {"64KB", 64 << 10},
		{"16MiB", 16 << 20}, {"16 MiB", 16 << 20}, {" 2GiB ", 2 << 30}, {"1GB", 1 << 30},
		{"8589934591GiB", 8589934591 << 30},
	} {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "lots", "12 parsecs", "-1", "-1KiB", "1.5MiB", "KiB", "16mib", "1TiB", "8589934592GiB", "99999999999999999999"} {
		if got, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestEnvName(t *testing.T) {
	for path, want := range map[string]string{
		"brokers":               "PULSE_BROKERS",
		"ingest.flush_rows":     "PULSE_INGEST_FLUSH_ROWS",
		"warehouse.file":        "PULSE_WAREHOUSE_FILE",
		"generator.bad_rate":    "PULSE_GENERATOR_BAD_RATE",
		"topics.crm":            "PULSE_TOPICS_CRM",
		"ingest.fetch_max_wait": "PULSE_INGEST_FETCH_MAX_WAIT",
	} {
		if got := EnvName(path); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", path, got, want)
		}
	}
	// No two settings share a variable.
	seen := map[string]string{}
	for path := range fields(new(Config)) {
		name := EnvName(path)
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s are both %s", path, other, name)
		}
		seen[name] = path
	}
	if _, dup := seen["PULSE_ADMIN_TOKEN"]; dup {
		t.Error("PULSE_ADMIN_TOKEN names a file setting")
	}
}

func TestTopicsAll(t *testing.T) {
	if got := Default().Topics.All(); !reflect.DeepEqual(got, []string{"crm.events", "finance.events", "ticket.events"}) {
		t.Errorf("Topics.All() = %v", got)
	}
}
