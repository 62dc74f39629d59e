package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// ConfigKey is the flag (and EDDY_CONFIG the variable) naming the config file.
const ConfigKey = "config"

// KeyError is one invalid setting. Source says where the value came from
// ("flag --fsync", "env EDDY_FSYNC", "file /etc/eddy.yaml", "default") when
// known.
type KeyError struct {
	Key    string
	Source string
	Msg    string
}

func (e *KeyError) Error() string {
	if e.Source == "" {
		return e.Key + ": " + e.Msg
	}
	return fmt.Sprintf("%s (from %s): %s", e.Key, e.Source, e.Msg)
}

// Flags holds the raw values of the command-line flags bound by BindFlags.
// Values are parsed by Load, not when the flag is set, so every bad value
// from every source is reported together.
type Flags struct {
	fs     *pflag.FlagSet
	config string
	values map[string]*flagValue
}

type flagValue struct {
	s   *setting
	raw string
	def string
}

func (v *flagValue) String() string {
	if v.raw != "" {
		return v.raw
	}
	return v.def
}
func (v *flagValue) Set(raw string) error { v.raw = raw; return nil }
func (v *flagValue) Type() string         { return v.s.typ }

// BindFlags registers a flag for every setting, plus --config, on fs.
// Help texts show the built-in defaults.
func BindFlags(fs *pflag.FlagSet) *Flags {
	fl := &Flags{fs: fs, values: make(map[string]*flagValue, len(settings))}
	def := Default()
	fs.StringVar(&fl.config, ConfigKey, "", "YAML config file (keys as the flags' names; also "+EnvVar(ConfigKey)+")")
	for i := range settings {
		s := &settings[i]
		v := &flagValue{s: s, def: s.get(&def)}
		f := fs.VarPF(v, s.key, "", s.usage+" (env "+EnvVar(s.key)+")")
		if s.typ == "bool" {
			f.NoOptDefVal = "true"
		}
		fl.values[s.key] = v
	}
	return fl
}

// Loaded is the result of Load: the effective Config and where each key's
// value came from.
type Loaded struct {
	Config Config
	// Sources maps each key to "default", "file PATH", "env EDDY_X" or
	// "flag --x".
	Sources map[string]string
	// File is the config file that was read, or "".
	File string
}

// Load builds the effective configuration: defaults, then the config file
// (--config or EDDY_CONFIG), then EDDY_* environment variables, then flags
// that were set on the command line; later sources win. Empty environment
// variables count as unset. It returns every parse and validation problem
// joined together; each is a *KeyError naming the key, the source and what
// is allowed. fl may be nil (no flags); lookupEnv is usually os.LookupEnv.
func Load(fl *Flags, lookupEnv func(string) (string, bool)) (Loaded, error) {
	l := Loaded{Config: Default(), Sources: make(map[string]string, len(settings))}
	for _, s := range settings {
		l.Sources[s.key] = "default"
	}
	var errs []error
	apply := func(s *setting, raw, source string) {
		if err := s.set(&l.Config, raw); err != nil {
			errs = append(errs, &KeyError{Key: s.key, Source: source, Msg: fmt.Sprintf("%q: %v", raw, err)})
			return
		}
		l.Sources[s.key] = source
	}

	// Config file.
	if fl != nil && fl.fs.Changed(ConfigKey) {
		l.File = fl.config
	} else if v, ok := lookupEnv(EnvVar(ConfigKey)); ok && v != "" {
		l.File = v
	}
	if l.File != "" {
		entries, err := readFile(l.File)
		if err != nil {
			return l, &KeyError{Key: ConfigKey, Msg: err.Error()}
		}
		for _, e := range entries {
			s, ok := lookup(e.key)
			if !ok {
				errs = append(errs, &KeyError{Key: e.key, Source: "file " + l.File, Msg: fmt.Sprintf("unknown key (line %d); known keys: %s", e.line, strings.Join(Keys(), ", "))})
				continue
			}
			if e.err != nil {
				errs = append(errs, &KeyError{Key: e.key, Source: "file " + l.File, Msg: fmt.Sprintf("line %d: %v", e.line, e.err)})
				continue
			}
			apply(s, e.value, "file "+l.File)
		}
	}

	// Environment.
	for i := range settings {
		s := &settings[i]
		if v, ok := lookupEnv(EnvVar(s.key)); ok && v != "" {
			apply(s, v, "env "+EnvVar(s.key))
		}
	}

	// Flags.
	if fl != nil {
		for i := range settings {
			s := &settings[i]
			if fl.fs.Changed(s.key) {
				apply(s, fl.values[s.key].raw, "flag --"+s.key)
			}
		}
	}

	errs = append(errs, l.readSecrets(lookupEnv)...)
	if err := l.Config.Validate(); err != nil {
		for _, e := range flatten(err) {
			var ke *KeyError
			if errors.As(e, &ke) && ke.Source == "" {
				ke.Source = l.Sources[ke.Key]
			}
			errs = append(errs, e)
		}
	}
	return l, errors.Join(errs...)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type fileEntry struct {
	key, value string
	line       int
	err        error
}

// readFile parses a YAML config file: one mapping of key to scalar. JSON is
// YAML too, so a JSON object works as well.
func readFile(path string) ([]fileEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse config file %s: %w", path, err)
	}
	if doc.Kind == 0 { // empty file
		return nil, nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: want a mapping of key: value at the top level", path)
	}
	m := doc.Content[0]
	seen := make(map[string]int)
	var out []fileEntry
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		e := fileEntry{key: k.Value, value: v.Value, line: k.Line}
		if first, dup := seen[k.Value]; dup {
			e.err = fmt.Errorf("duplicate key (first on line %d)", first)
		} else if v.Kind != yaml.ScalarNode {
			e.err = fmt.Errorf("want a single value, not a list or mapping")
		} else if v.Tag == "!!null" {
			e.err = fmt.Errorf("empty value; remove the key to use the default")
		}
		seen[k.Value] = k.Line
		out = append(out, e)
	}
	return out, nil
}

// Print writes the effective configuration as a YAML config file that Load
// reads back to the same Config, each line commented with its source.
func (l Loaded) Print(w io.Writer) error {
	var sb strings.Builder
	sb.WriteString("# Effective configuration of eddy serve (flags > EDDY_* env > config file > defaults).\n")
	lines := make([]string, len(settings))
	width := 0
	for i, s := range settings {
		v := s.get(&l.Config)
		if s.typ == "string" {
			v = yamlString(v)
		}
		lines[i] = s.key + ": " + v
		width = max(width, len(lines[i]))
	}
	for i, s := range settings {
		fmt.Fprintf(&sb, "%-*s  # %s\n", width, lines[i], l.Sources[s.key])
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// yamlString quotes s so YAML reads it back as the same string.
func yamlString(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// BootstrapPasswordEnv is the environment variable holding the bootstrap
// user's password.
const BootstrapPasswordEnv = "EDDY_BOOTSTRAP_PASSWORD"

// readSecrets fills BootstrapPassword from EDDY_BOOTSTRAP_PASSWORD or
// bootstrap-password-file.
func (l *Loaded) readSecrets(lookupEnv func(string) (string, bool)) []error {
	var errs []error
	c := &l.Config
	if v, ok := lookupEnv(BootstrapPasswordEnv); ok && v != "" {
		c.BootstrapPassword = v
	}
	if c.BootstrapPasswordFile != "" {
		b, err := os.ReadFile(c.BootstrapPasswordFile)
		if err != nil {
			errs = append(errs, &KeyError{Key: "bootstrap-password-file", Source: l.Sources["bootstrap-password-file"], Msg: err.Error()})
		} else if c.BootstrapPassword != "" {
			errs = append(errs, &KeyError{Key: "bootstrap-password-file", Source: l.Sources["bootstrap-password-file"], Msg: "and " + BootstrapPasswordEnv + " are both set; use one"})
		} else {
			first, _, _ := strings.Cut(string(b), "\n")
			c.BootstrapPassword = strings.TrimRight(first, "\r")
		}
	}
	return errs
}
