package daemon

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"kiln/api"
	"kiln/config"
)

// openAPIPath is the API's description, next to the bodies it describes.
const openAPIPath = "../api/openapi.json"

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) (openAPIDoc, []byte) {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("%s: openapi = %q, want 3.x", openAPIPath, doc.OpenAPI)
	}
	return doc, raw
}

// TestOpenAPIMatchesRoutes: every route the daemon serves is described, and
// every described operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	described := map[string]bool{}
	for path, item := range doc.Paths {
		for key := range item {
			switch key {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				described[strings.ToUpper(key)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range (&apiServer{}).routes() {
		served[rt.method+" "+rt.path] = true
	}
	for r := range served {
		if !described[r] {
			t.Errorf("%s is served but not in %s", r, openAPIPath)
		}
	}
	for r := range described {
		if !served[r] {
			t.Errorf("%s is in %s but not served", r, openAPIPath)
		}
	}
	if len(served) < 12 {
		t.Errorf("only %d routes served; the contract lists 12", len(served))
	}
}

// TestOpenAPIOperations: each operation has an operationId, a success
// answer, and JSON errors in the Error schema.
func TestOpenAPIOperations(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
				Responses   map[string]struct {
					Content map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
			ok := false
			for code, resp := range op.Responses {
				if strings.HasPrefix(code, "2") {
					ok = true
					continue
				}
				if ref := resp.Content["application/json"].Schema.Ref; ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: error %s is not the Error schema (%q)", method, path, code, ref)
				}
			}
			if !ok {
				t.Errorf("%s %s has no 2xx answer", method, path)
			}
		}
	}
}

// TestOpenAPIRefsResolve: no $ref points at nothing.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc, raw := loadOpenAPI(t)
	var tree any
	json.Unmarshal(raw, &tree)
	var walk func(any)
	n := 0
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					n++
					ref, _ := x.(string)
					switch {
					case strings.HasPrefix(ref, "#/components/schemas/"):
						if _, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]; !ok {
							t.Errorf("$ref %s resolves to nothing", ref)
						}
					case ref == "#/components/parameters/JobID":
					default:
						t.Errorf("unexpected $ref %q", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)
	if n == 0 {
		t.Error("no $ref found; the walk is broken")
	}
}

// TestOpenAPISchemasMatchTypes: each schema lists exactly the JSON keys of
// the Go type that produces or reads it, so the description cannot drift
// from the code.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	types := map[string]reflect.Type{
		"Health":        reflect.TypeFor[api.Health](),
		"Hardware":      reflect.TypeFor[api.Hardware](),
		"Capability":    reflect.TypeFor[api.Capability](),
		"GPU":           reflect.TypeFor[api.GPU](),
		"Job":           reflect.TypeFor[api.Job](),
		"Progress":      reflect.TypeFor[api.Progress](),
		"Resources":     reflect.TypeFor[api.Resources](),
		"SubmitRequest": reflect.TypeFor[api.SubmitRequest](),
		"Created":       reflect.TypeFor[api.Created](),
		"PatchJob":      reflect.TypeFor[api.PatchJob](),
		"Reloaded":      reflect.TypeFor[api.Reloaded](),
		"Node":          reflect.TypeFor[api.Node](),
		"Error":         reflect.TypeFor[api.Error](),
		"ErrorBody":     reflect.TypeFor[api.ErrorBody](),
		"Watch":         reflect.TypeFor[config.Watch](),
		"Profile":       reflect.TypeFor[config.Profile](),
	}
	for name, typ := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		want := jsonKeys(typ)
		var got []string
		for k := range s.Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("schema %s properties\n  %v\nbut %s has JSON keys\n  %v", name, got, typ, want)
		}
	}
}

func jsonKeys(typ reflect.Type) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}
