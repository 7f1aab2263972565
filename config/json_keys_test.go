package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestJSONKeysMatchTOML keeps the API's view of profiles and watches in the
// words of the config file: every field with a TOML key has the same JSON key.
func TestJSONKeysMatchTOML(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != "kiln/config" || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			tomlKey, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			jsonKey, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tomlKey != "" && tomlKey != "-" && jsonKey != tomlKey {
				t.Errorf("%s.%s: toml key %q but json key %q", typ.Name(), f.Name, tomlKey, jsonKey)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Config]())
	if len(seen) < 6 {
		t.Fatalf("walked only %d struct types; the walk is broken", len(seen))
	}
}

// TestProfileJSONRoundTrip: the worker receives its profile as JSON, so a
// profile must come back from JSON unchanged, name included.
func TestProfileJSONRoundTrip(t *testing.T) {
	cfg, err := Parse([]byte(kitchenSink), "k.toml", "/srv/kiln")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range cfg.Profiles {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Profile
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		if !reflect.DeepEqual(*p, back) {
			t.Errorf("%s changed through JSON:\n%+v\n%+v\n%s", name, *p, back, b)
		}
		if !strings.Contains(string(b), `"video_bitrate"`) || !strings.Contains(string(b), `"name":"`+name+`"`) {
			t.Errorf("%s: JSON lacks snake_case keys or the name: %s", name, b)
		}
	}
}
