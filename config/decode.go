package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decodeStrict reads a YAML file over the settings in cfg. It walks the
// file's tree along Config's types, so every error knows its dotted path
// (with map keys and list indices: scorecards.roles.sales[1].target) and
// its line, even where several settings share a line in flow style.
//
// Sections (structs) are merged into their defaults; a list or a map the
// file gives replaces the default as a whole, and an empty or null one
// leaves it empty. A null scalar keeps its default.
func decodeStrict(path string, src []byte, cfg *Config) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file keeps the defaults
	}
	root := doc.Content[0]
	d := decoder{source: path}
	if err := d.decode(root, "", reflect.ValueOf(cfg).Elem()); err != nil {
		return nil, err
	}
	return root, nil
}

// yamlError turns a YAML syntax error ("yaml: line N: …") into an Error.
func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		n, after, _ := strings.Cut(rest, ": ")
		line, _ = strconv.Atoi(n)
		msg = after
	}
	return &Error{Source: path, Line: line, Field: "(file)", Msg: msg}
}

// defaulter is a list item that starts from defaults rather than from
// zero before the file's keys are applied (a scorecard line's direction).
type defaulter interface{ setDefaults() }

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[time.Duration]()
)

type decoder struct{ source string }

func (d *decoder) fail(line int, path, format string, args ...any) error {
	if path == "" {
		path = "(file)"
	}
	return &Error{Source: d.source, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)}
}

// join adds a key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// isLeaf reports whether values of t are read from one scalar.
func isLeaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice:
		return false
	}
	return true
}

func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias // Config's types nest finitely, so a looping alias ends at a leaf
	}
	t := v.Type()
	if isLeaf(t) {
		return d.leaf(n, path, v)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		if t.Kind() != reflect.Struct {
			v.Set(reflect.Zero(t)) // "holidays:" with nothing is no holidays
		}
		return nil // "ingest:" with nothing keeps the section's defaults
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.section(n, path, v)
	case reflect.Map:
		return d.mapping(n, path, v)
	default:
		return d.list(n, path, v)
	}
}

// mismatch is the error of a node of the wrong kind, in yaml.v3's words.
func (d *decoder) mismatch(n *yaml.Node, path string, t reflect.Type) error {
	value := ""
	if n.Kind == yaml.ScalarNode {
		value = " `" + n.Value + "`"
	}
	return d.fail(n.Line, path, "cannot unmarshal %s%s into %s", n.ShortTag(), value, t)
}

// keys walks the pairs of a mapping, refusing keys that are not plain
// scalars and keys given twice.
func (d *decoder) keys(n *yaml.Node, path string, each func(k, v *yaml.Node) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		for k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return d.fail(k.Line, path, "a key must be a plain name, got %s", k.ShortTag())
		}
		if first, dup := seen[k.Value]; dup {
			return d.fail(k.Line, join(path, k.Value), "already defined at line %d", first)
		}
		seen[k.Value] = k.Line
		if err := each(k, v); err != nil {
			return err
		}
	}
	return nil
}

// section decodes a mapping into a struct, refusing keys it has no field for.
func (d *decoder) section(n *yaml.Node, path string, v reflect.Value) error {
	if n.Kind != yaml.MappingNode {
		return d.mismatch(n, path, v.Type())
	}
	byKey := map[string]int{}
	for i := range v.NumField() {
		if tag := yamlName(v.Type().Field(i)); tag != "" {
			byKey[tag] = i
		}
	}
	return d.keys(n, path, func(k, val *yaml.Node) error {
		i, ok := byKey[k.Value]
		if !ok {
			return d.fail(k.Line, join(path, k.Value), "unknown setting")
		}
		if merges(v.Type().Field(i)) {
			return d.merge(val, join(path, k.Value), v.Field(i))
		}
		return d.decode(val, join(path, k.Value), v.Field(i))
	})
}

// mapping decodes a mapping into a fresh map with string keys.
func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) error {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		return d.mismatch(n, path, t)
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	err := d.keys(n, path, func(k, val *yaml.Node) error {
		elem := reflect.New(t.Elem()).Elem()
		if def, ok := elem.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		if err := d.decode(val, join(path, k.Value), elem); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
		return nil
	})
	if err != nil {
		return err
	}
	if m.Len() == 0 {
		m = reflect.Zero(t)
	}
	v.Set(m)
	return nil
}

// merges reports whether a map field merges the file's entries into its
// defaults (tag option merge) instead of being replaced as a whole.
func merges(f reflect.StructField) bool {
	opts := strings.Split(f.Tag.Get("yaml"), ",")
	return f.Type.Kind() == reflect.Map && slices.Contains(opts[1:], "merge")
}

// merge decodes a mapping over a map's entries: an entry the file names
// is decoded over its default (a section keeps the keys the file does not
// give), an entry it does not name is kept, a new entry starts from its
// type's defaults.
func (d *decoder) merge(n *yaml.Node, path string, v reflect.Value) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		return d.mismatch(n, path, t)
	}
	m := reflect.MakeMapWithSize(t, v.Len()+len(n.Content)/2)
	iter := v.MapRange()
	for iter.Next() {
		m.SetMapIndex(iter.Key(), iter.Value())
	}
	err := d.keys(n, path, func(k, val *yaml.Node) error {
		key := reflect.ValueOf(k.Value).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := m.MapIndex(key); old.IsValid() {
			elem.Set(old)
		} else if def, ok := elem.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		if err := d.decode(val, join(path, k.Value), elem); err != nil {
			return err
		}
		m.SetMapIndex(key, elem)
		return nil
	})
	if err != nil {
		return err
	}
	v.Set(m)
	return nil
}

// list decodes a sequence into a fresh slice; items that are structs start
// from their defaults.
func (d *decoder) list(n *yaml.Node, path string, v reflect.Value) error {
	t := v.Type()
	if n.Kind != yaml.SequenceNode {
		return d.mismatch(n, path, t)
	}
	if len(n.Content) == 0 {
		v.Set(reflect.Zero(t))
		return nil
	}
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		elem := s.Index(i)
		if def, ok := elem.Addr().Interface().(defaulter); ok {
			def.setDefaults()
		}
		if err := d.decode(item, fmt.Sprintf("%s[%d]", path, i), elem); err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// leaf decodes one scalar with yaml.v3's conversions (and the types' own
// UnmarshalYAML), refusing a fraction for a whole number, which yaml.v3
// would truncate silently (flush_rows: 1.5 would be 1) where Set refuses.
func (d *decoder) leaf(n *yaml.Node, path string, v reflect.Value) error {
	wholeNumber := false
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		wholeNumber = v.Type() != durationType && !reflect.PointerTo(v.Type()).Implements(unmarshalerType)
	}
	if wholeNumber && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
		return d.fail(n.Line, path, "not a whole number: %q", n.Value)
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			msg = te.Errors[0]
		}
		if rest, ok := strings.CutPrefix(msg, "line "); ok {
			if _, after, found := strings.Cut(rest, ": "); found {
				msg = after
			}
		}
		return d.fail(n.Line, path, "%s", msg)
	}
	return nil
}

// yamlName is the key of a struct field in the file, "" for none.
func yamlName(f reflect.StructField) string {
	tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
	if tag == "-" {
		return ""
	}
	return tag
}

// lineOf finds the line of a dotted path in the file: the value's line for
// a scalar, the key's line for a section, list or map, the item's line for
// a list item. A key missing from a list item (a scorecard line without a
// weight) is reported at the item. 0 when the file does not say it.
func lineOf(root *yaml.Node, path string) int {
	if root == nil || path == "" {
		return 0
	}
	n, line, itemLine := root, 0, 0
	for _, part := range splitPath(path) {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil {
			return itemLine
		}
		if !part.isIndex {
			if n.Kind != yaml.MappingNode {
				return itemLine
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == part.key {
					next, line = n.Content[i+1], n.Content[i].Line
				}
			}
			if next == nil {
				return itemLine
			}
			n = next
			continue
		}
		if n.Kind != yaml.SequenceNode || part.index >= len(n.Content) {
			return itemLine
		}
		n = n.Content[part.index]
		line, itemLine = n.Line, n.Line
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode {
		return n.Line
	}
	return line
}

// pathPart is a key or a list index of a dotted path.
type pathPart struct {
	key     string
	index   int
	isIndex bool
}

// splitPath cuts "scorecards.roles.sales[1].target" into its keys and
// indices.
func splitPath(path string) []pathPart {
	var parts []pathPart
	for _, seg := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		parts = append(parts, pathPart{key: key})
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil || i < 0 {
				break
			}
			parts = append(parts, pathPart{index: i, isIndex: true})
			_, rest, _ = strings.Cut(after, "[")
		}
	}
	return parts
}
