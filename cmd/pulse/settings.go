package main

import (
	"flag"
	"log/slog"
	"os"
	"strings"

	"github.com/pulsekpi/pulse/config"
	"github.com/pulsekpi/pulse/generate"
	"github.com/pulsekpi/pulse/kafkaconn"
)

// settingFlags are the flags every long-running command shares, each
// overriding one setting of the config file and the environment.
type settingFlags struct {
	fs      *flag.FlagSet
	config  *string
	binding map[string]string // flag name -> setting path
}

func addSettingFlags(fs *flag.FlagSet, names ...string) *settingFlags {
	sf := &settingFlags{fs: fs, binding: map[string]string{}}
	sf.config = fs.String("config", "", "YAML config file (see pulse.example.yaml)")
	help := map[string]string{
		"brokers":   "Kafka brokers, comma-separated (PULSE_BROKERS)",
		"data":      "folder holding the DuckDB file (PULSE_DATA)",
		"addr":      "HTTP listen address (PULSE_ADDR)",
		"timezone":  "business time zone, IANA name (PULSE_TIMEZONE)",
		"log-level": "debug, info, warn or error (PULSE_LOG_LEVEL)",
	}
	def := config.Default()
	defaults := map[string]string{
		"brokers": strings.Join(def.Brokers, ","), "data": def.Data, "addr": def.Addr,
		"timezone": def.Timezone, "log-level": def.LogLevel,
	}
	for _, n := range names {
		fs.String(n, defaults[n], help[n])
		sf.binding[n] = strings.ReplaceAll(n, "-", "_")
	}
	return sf
}

// parse parses the command line and builds the configuration from it.
func (sf *settingFlags) parse(args, environ []string) (config.Config, error) {
	if err := sf.fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	return sf.load(environ)
}

// given reports whether the setting was given by flag, variable or file.
func (sf *settingFlags) given(flagName string, environ []string) bool {
	set := *sf.config != ""
	sf.fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName })
	env := config.EnvName(sf.binding[flagName]) + "="
	for _, kv := range environ {
		set = set || strings.HasPrefix(kv, env)
	}
	return set
}

// load builds the configuration: defaults, file, environment, then the
// flags that were given on the command line.
func (sf *settingFlags) load(environ []string) (config.Config, error) {
	cfg, err := config.Load(*sf.config, environ)
	if err != nil {
		return cfg, err
	}
	var setErr error
	sf.fs.Visit(func(f *flag.Flag) {
		path, ok := sf.binding[f.Name]
		if !ok || setErr != nil {
			return
		}
		if err := cfg.Set(path, f.Value.String()); err != nil {
			setErr = &config.Error{Source: "flag", Field: "--" + f.Name, Msg: err.Error()}
		}
	})
	if setErr != nil {
		return cfg, setErr
	}
	return cfg, cfg.Validate()
}

// kafkaConn is the connection settings of cfg for kafka-go clients.
func kafkaConn(cfg config.Config) kafkaconn.Options {
	k := cfg.Kafka
	return kafkaconn.Options{ClientID: k.ClientID, TLS: k.TLS, TLSCAFile: k.TLSCAFile,
		TLSInsecureSkipVerify: k.TLSInsecureSkipVerify, SASLMechanism: k.SASLMechanism,
		SASLUsername: k.SASLUsername, SASLPassword: k.SASLPassword}
}

// kafkaSink is a producer to the configured brokers.
func kafkaSink(cfg config.Config) (*generate.KafkaSink, error) {
	t, err := kafkaConn(cfg).Transport()
	if err != nil {
		return nil, err
	}
	return generate.NewKafkaSink(cfg.Brokers, t), nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
