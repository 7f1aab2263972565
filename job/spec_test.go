package job

import (
	"encoding/json"
	"testing"
)

// TestSpecReadsOlderDaemons: a spec from a daemon before session accounting
// ("nvenc": true) grants the job's one rendition a session; a current spec
// round-trips its grant and note.
func TestSpecReadsOlderDaemons(t *testing.T) {
	for _, c := range []struct {
		in       string
		sessions int
		note     string
	}{
		{`{"id":1,"source":"/a.mxf","nvenc":true}`, 1, ""},
		{`{"id":1,"source":"/a.mxf","nvenc":false}`, 0, ""},
		{`{"id":1,"source":"/a.mxf"}`, 0, ""},
		{`{"id":1,"source":"/a.mxf","nvenc_sessions":3,"nvenc_note":"NVENC session limit 3 reached"}`, 3, "NVENC session limit 3 reached"},
		{`{"id":1,"source":"/a.mxf","nvenc":true,"nvenc_sessions":2}`, 2, ""},
	} {
		var s Spec
		if err := json.Unmarshal([]byte(c.in), &s); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if s.ID != 1 || s.Source != "/a.mxf" || s.NVENCSessions != c.sessions || s.NVENCNote != c.note {
			t.Errorf("%s → %+v; want %d sessions, note %q", c.in, s, c.sessions, c.note)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var again Spec
		if err := json.Unmarshal(b, &again); err != nil || again.NVENCSessions != s.NVENCSessions || again.NVENCNote != s.NVENCNote {
			t.Errorf("round trip of %s: %s → %+v, %v", c.in, b, again, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"id":"x"}`), new(Spec)); err == nil {
		t.Error("a spec with a string id decoded without an error")
	}
}
