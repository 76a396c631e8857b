package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// allowedTableFunctions are the table functions (FROM f(...)) an analyst may
// call. Everything else is refused: DuckDB's table functions include file
// readers (read_csv, read_text, read_parquet, glob, sniff_csv, parquet_*),
// functions with effects (checkpoint, force_checkpoint, enable_logging,
// truncate_duckdb_logs, enable_profiling), functions that run SQL given as a
// string and so hide it from this check (query, query_table,
// json_execute_serialized_sql) and functions that reveal configuration,
// secrets or paths (duckdb_settings, duckdb_secrets, duckdb_databases,
// duckdb_extensions, duckdb_temporary_files, which_secret, pragma_*). An
// allow-list, so that functions added by a new DuckDB version are refused
// until someone looks at them.
var allowedTableFunctions = map[string]bool{
	"range":              true,
	"generate_series":    true,
	"unnest":             true,
	"json_each":          true,
	"json_tree":          true,
	"repeat":             true,
	"repeat_row":         true,
	"summary":            true,
	"histogram_values":   true,
	"pg_timezone_names":  true,
	"icu_calendar_names": true,
	"duckdb_tables":      true,
	"duckdb_views":       true,
	"duckdb_columns":     true,
	"duckdb_schemas":     true,
	"duckdb_types":       true,
	"duckdb_functions":   true,
	"duckdb_keywords":    true,
	"duckdb_constraints": true,
	"duckdb_indexes":     true,
	"pragma_table_info":  true,
}

// deniedScalarFunctions are scalar functions with an effect outside the
// query or that reveal configuration.
var deniedScalarFunctions = map[string]string{
	"current_setting": "reveals configuration",
	"getvariable":     "reveals session variables",
	"nextval":         "advances a sequence",
	"currval":         "reads session sequence state",
	"setseed":         "changes the connection's random seed",
	"write_log":       "writes to DuckDB's log",
}

// deniedViews are DuckDB's built-in views over table functions this
// package refuses (a view is not a function call in the parse tree).
var deniedViews = map[string]string{
	"duckdb_databases":     "reveals database file paths",
	"pragma_database_list": "reveals database file paths",
	"pg_database":          "reveals database file paths",
	"pg_settings":          "reveals configuration",
	"duckdb_settings":      "reveals configuration",
	"duckdb_logs":          "reveals DuckDB's log",
}

// parsed is json_serialize_sql's answer.
type parsed struct {
	Error        bool              `json:"error"`
	ErrorType    string            `json:"error_type"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// inspect walks DuckDB's JSON parse tree of one SELECT statement and
// returns why it is refused, or "".
func inspect(stmt json.RawMessage) (string, error) {
	var tree any
	if err := decode(stmt, &tree); err != nil {
		return "", fmt.Errorf("reading parse tree: %w", err)
	}
	return walk(tree), nil
}

func walk(n any) string {
	switch v := n.(type) {
	case []any:
		for _, c := range v {
			if r := walk(c); r != "" {
				return r
			}
		}
	case map[string]any:
		typ, _ := v["type"].(string)
		class, _ := v["class"].(string)
		switch {
		case typ == "TABLE_FUNCTION":
			fn, _ := v["function"].(map[string]any)
			name, _ := fn["function_name"].(string)
			if !allowedTableFunctions[strings.ToLower(name)] {
				return fmt.Sprintf("table function %s is not allowed (only %s)", name, allowedTableList())
			}
		case class == "FUNCTION" || typ == "FUNCTION":
			name, _ := v["function_name"].(string)
			if why, ok := deniedScalarFunctions[strings.ToLower(name)]; ok {
				return fmt.Sprintf("function %s is not allowed: it %s", name, why)
			}
		case typ == "BASE_TABLE":
			name, _ := v["table_name"].(string)
			if why, ok := deniedViews[strings.ToLower(name)]; ok {
				return fmt.Sprintf("%s is not allowed: it %s", name, why)
			}
		}
		for _, c := range v {
			if r := walk(c); r != "" {
				return r
			}
		}
	}
	return ""
}

func allowedTableList() string {
	return "range, generate_series, unnest, json_each, json_tree, repeat, summary and catalog functions such as duckdb_tables"
}

// withLimit adds a LIMIT modifier to the top-level query node of a parse
// tree, after the query's own modifiers, so DuckDB produces at most limit
// rows. limitMod is the LIMIT_MODIFIER DuckDB serialised for a template.
func withLimit(stmt json.RawMessage, limitMod any) (json.RawMessage, error) {
	var tree map[string]any
	if err := decode(stmt, &tree); err != nil {
		return nil, err
	}
	node, ok := tree["node"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse tree without a query node")
	}
	mods, _ := node["modifiers"].([]any)
	for _, m := range mods {
		mod, _ := m.(map[string]any)
		switch mod["type"] {
		case "LIMIT_MODIFIER":
			// DuckDB cannot print two LIMITs; lower a constant LIMIT to
			// ours, leave any other (reading still stops at MaxRows).
			lim, _ := mod["limit"].(map[string]any)
			ours := limitMod.(map[string]any)["limit"]
			if lim == nil {
				mod["limit"] = ours
			} else if lim["type"] == "VALUE_CONSTANT" {
				val, _ := lim["value"].(map[string]any)
				if n, err := strconv.ParseInt(fmt.Sprint(val["value"]), 10, 64); err == nil && n > limitValue(limitMod) {
					mod["limit"] = ours
				}
			}
			return json.Marshal(tree)
		case "LIMIT_PERCENT_MODIFIER":
			return json.Marshal(tree)
		}
	}
	node["modifiers"] = append(mods, limitMod)
	return json.Marshal(tree)
}

// decode keeps numbers exact (query locations are 2^64-1 where unknown).
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func limitValue(limitMod any) int64 {
	m, _ := limitMod.(map[string]any)
	lim, _ := m["limit"].(map[string]any)
	val, _ := lim["value"].(map[string]any)
	n, _ := strconv.ParseInt(fmt.Sprint(val["value"]), 10, 64)
	return n
}
