package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// decoder fills a Config from the generic tree BurntSushi/toml produces.
//
// Why not toml.Decode straight into Config and MetaData.Undecoded? A typed
// decode stops at the first bad value, and keys it never reached then look
// undecoded too. Walking the tree ourselves, with the struct tags as the only
// list of valid keys, reports every unknown key and every bad value in one go,
// and records which keys were written at all, which the defaults need:
// cpu_jobs = 0 is an error, a missing cpu_jobs means 2.
type decoder struct {
	report *reporter
	set    map[string]bool // paths written in the source
	bad    map[string]bool // paths whose value could not be decoded
}

var tomlUnmarshaler = reflect.TypeFor[toml.Unmarshaler]()

// scope says how messages name the thing being decoded: a label such as
// `profile "web"`, and where keys relative to it start in the path.
type scope struct {
	label string
	base  int
}

func (sc scope) key(p keyPath) string {
	k := p[sc.base:].dotted()
	if sc.label == "" {
		return k
	}
	return sc.label + ": " + k
}

// decodeConfig decodes the whole document. It also fills Profile.Name.
func (d *decoder) decodeConfig(raw map[string]any, cfg *Config) {
	rv := reflect.ValueOf(cfg).Elem()
	fields := tomlFields(rv.Type())
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		path := keyPath{key}
		f, ok := fields[key]
		if !ok {
			d.unknown(nil, key, rv.Type())
			continue
		}
		d.set[path.id()] = true
		val := raw[key]
		switch key {
		case "daemon":
			m, ok := val.(map[string]any)
			if !ok {
				d.fail(path, fmt.Sprintf("daemon must be a table ([daemon]), got %s", describe(val)))
				continue
			}
			d.table(m, rv.Field(f), path, scope{"daemon", 1})
		case "watch":
			d.watches(val, cfg, path)
		case "profile":
			d.profiles(val, cfg, path)
		default:
			d.value(val, rv.Field(f), path, scope{})
		}
	}
}

func (d *decoder) watches(val any, cfg *Config, path keyPath) {
	elems, ok := asSlice(val)
	if !ok {
		d.fail(path, fmt.Sprintf("watch must be an array of tables ([[watch]]), got %s", describe(val)))
		return
	}
	cfg.Watches = make([]Watch, len(elems))
	for i, e := range elems {
		p := path.index(i)
		m, ok := e.(map[string]any)
		if !ok {
			d.fail(p, fmt.Sprintf("watch #%d must be a table, got %s", i+1, describe(e)))
			continue
		}
		label := fmt.Sprintf("[[watch]] #%d", i+1)
		if name, ok := m["name"].(string); ok && name != "" {
			label = fmt.Sprintf("watch %q", name)
		}
		d.set[p.id()] = true
		d.table(m, reflect.ValueOf(&cfg.Watches[i]).Elem(), p, scope{label, 2})
	}
}

func (d *decoder) profiles(val any, cfg *Config, path keyPath) {
	m, ok := val.(map[string]any)
	if !ok {
		d.fail(path, fmt.Sprintf("profile must be a table of profiles ([profile.NAME]), got %s", describe(val)))
		return
	}
	cfg.Profiles = make(map[string]*Profile, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		p := path.with(name)
		pm, ok := m[name].(map[string]any)
		if !ok {
			d.fail(p, fmt.Sprintf("profile %q must be a table ([profile.%s]), got %s", name, tomlKey(name), describe(m[name])))
			continue
		}
		d.set[p.id()] = true
		prof := &Profile{Name: name}
		d.table(pm, reflect.ValueOf(prof).Elem(), p, scope{fmt.Sprintf("profile %q", name), 2})
		cfg.Profiles[name] = prof
	}
}

// table decodes the keys of one TOML table into the struct rv.
func (d *decoder) table(raw map[string]any, rv reflect.Value, path keyPath, sc scope) {
	fields := tomlFields(rv.Type())
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		f, ok := fields[key]
		if !ok {
			d.unknown(path, key, rv.Type())
			continue
		}
		p := path.with(key)
		d.set[p.id()] = true
		d.value(raw[key], rv.Field(f), p, sc)
	}
}

// value decodes one value into fv, which is addressable.
func (d *decoder) value(val any, fv reflect.Value, path keyPath, sc scope) {
	if fv.Addr().Type().Implements(tomlUnmarshaler) {
		if err := fv.Addr().Interface().(toml.Unmarshaler).UnmarshalTOML(val); err != nil {
			d.fail(path, fmt.Sprintf("%s: %v", sc.key(path), err))
		}
		return
	}
	want := func(what string) {
		d.fail(path, fmt.Sprintf("%s must be %s, got %s", sc.key(path), what, describe(val)))
	}
	switch fv.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			want("a string")
			return
		}
		fv.SetString(s)
	case reflect.Int:
		n, ok := val.(int64)
		if !ok || fv.OverflowInt(n) {
			want("an integer")
			return
		}
		fv.SetInt(n)
	case reflect.Float64:
		switch v := val.(type) {
		case float64:
			fv.SetFloat(v)
		case int64:
			fv.SetFloat(float64(v))
		default:
			want("a number")
		}
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			want("a boolean")
			return
		}
		fv.SetBool(b)
	case reflect.Pointer:
		nv := reflect.New(fv.Type().Elem())
		d.value(val, nv.Elem(), path, sc)
		fv.Set(nv)
	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			want(fmt.Sprintf("a table such as %s = { ... }", path[len(path)-1]))
			return
		}
		d.table(m, fv, path, sc)
	case reflect.Slice:
		elems, ok := asSlice(val)
		if !ok {
			want("an array")
			return
		}
		out := reflect.MakeSlice(fv.Type(), len(elems), len(elems))
		for i, e := range elems {
			d.value(e, out.Index(i), path.index(i), sc)
		}
		fv.Set(out)
	default:
		// Only reachable if someone adds a field of a new kind to config.go.
		d.fail(path, fmt.Sprintf("%s: config field of kind %s is not supported by the decoder", sc.key(path), fv.Kind()))
	}
}

func (d *decoder) fail(path keyPath, msg string) {
	d.bad[path.id()] = true
	d.report.at(path, msg)
}

// unknown reports a key that no field carries, with a hint when the key is a
// near miss or belongs one table deeper (loudness written beside audio).
func (d *decoder) unknown(table keyPath, key string, t reflect.Type) {
	d.bad[table.with(key).id()] = true
	msg := fmt.Sprintf("unknown key %q in %s", key, table.table())
	if hint := keyHint(key, t); hint != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", hint)
	}
	d.report.at(table.with(key), msg)
}

func keyHint(key string, t reflect.Type) string {
	best, bestDist := "", 3
	var nested []string
	for name, i := range tomlFields(t) {
		if dist := editDistance(key, name); dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
		ft := t.Field(i).Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(tomlUnmarshaler) {
			if _, ok := tomlFields(ft)[key]; ok {
				nested = append(nested, name+"."+key)
			}
		}
	}
	if len(nested) > 0 {
		slices.Sort(nested)
		return nested[0]
	}
	if bestDist <= 2 && bestDist < len(key) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// tomlFields maps the toml tag of each decodable field to its index.
func tomlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = i
	}
	return out
}

// asSlice accepts both shapes the parser yields: []map[string]any for
// [[tables]] and []any for inline arrays.
func asSlice(val any) ([]any, bool) {
	rv := reflect.ValueOf(val)
	if rv.Kind() != reflect.Slice {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// describe names a decoded TOML value for a message: `string "8X"`, `integer 5`.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprintf("float %v", v)
		}
		return "float " + formatFloat(v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case time.Time:
		return "a date-time"
	case map[string]any:
		return "a table"
	case nil:
		return "nothing"
	}
	if _, ok := asSlice(v); ok {
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}
