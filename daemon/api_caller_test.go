package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kiln/api"
)

// TestAPIRefusesNonJSONBodies: a POST whose body is declared as anything but
// JSON (text/plain is what a browser sends cross-site without asking) is
// refused with 415 before it is read, even when the bytes parse as JSON.
func TestAPIRefusesNonJSONBodies(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	src := td.source("ct.mkv")
	body := `{"source":"` + src + `","profile":"p1"}`
	for _, ct := range []string{"text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		for _, path := range []string{"/v1/jobs", "/v1/reload", "/v1/jobs/1/cancel"} {
			req, _ := http.NewRequest("POST", "http://kiln"+path, strings.NewReader(body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := td.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e api.Error
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType || e.Error.Code != "unsupported_media_type" ||
				!strings.Contains(e.Error.Message, "application/json") {
				t.Errorf("POST %s with Content-Type %q: %d %+v, want 415 unsupported_media_type naming application/json", path, ct, resp.StatusCode, e.Error)
			}
		}
	}
	var jobs []api.Job
	td.getJSON("/v1/jobs", &jobs)
	if len(jobs) != 0 {
		t.Errorf("a refused body made jobs: %+v", jobs)
	}
	// JSON, with or without parameters, still works.
	for _, ct := range []string{"application/json", "application/json; charset=utf-8"} {
		req, _ := http.NewRequest("POST", "http://kiln/v1/jobs", strings.NewReader(`{"source":"`+td.source("ok-"+strings.ReplaceAll(ct, "/", "")+".mkv")+`","profile":"p1"}`))
		req.Header.Set("Content-Type", ct)
		resp, err := td.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("Content-Type %q: %d, want 201", ct, resp.StatusCode)
		}
	}
}

// TestSubmitOutsideRootsSameAnswerWhetherOrNotTheFileExists: a client must
// not learn, by the answer, whether a file outside submit_roots exists.
func TestSubmitOutsideRootsSameAnswerWhetherOrNotTheFileExists(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	outside := filepath.Join(td.root, "private")
	os.MkdirAll(outside, 0o755)
	exists := filepath.Join(outside, "exists.mkv")
	os.WriteFile(exists, []byte("x"), 0o644)
	link := filepath.Join(td.root, "sources", "link")
	os.MkdirAll(filepath.Dir(link), 0o755)
	os.Symlink(outside, link)
	pairs := [][2]string{
		{exists, filepath.Join(outside, "missing.mkv")},
		{"/etc/passwd", "/etc/no-such-file"},
		{outside, filepath.Join(td.root, "no-such-folder", "x.mkv")},
		// Through a symlink inside the roots that leads out of them.
		{filepath.Join(link, "exists.mkv"), filepath.Join(link, "missing.mkv")},
	}
	for _, p := range pairs {
		var answers [2]string
		for i, path := range p {
			b, _ := json.Marshal(api.SubmitRequest{Source: path, Profile: "p1"})
			status, body := td.call("POST", "/v1/jobs", string(b))
			wantAPIError(t, path, status, body, 403, "outside_roots")
			var e api.Error
			json.Unmarshal(body, &e)
			answers[i] = strings.ReplaceAll(e.Error.Message, path, "PATH")
		}
		if answers[0] != answers[1] {
			t.Errorf("existing and missing files outside the roots get different answers:\n%s\n%s", answers[0], answers[1])
		}
	}
}

// TestSubmitChecksTheCallerCanReadTheSource: kilnd reads every file in
// submit_roots, but it must transcode only what the caller could read
// itself; the peer's uid and groups come from SO_PEERCRED. The test runs
// the handler with the credentials of other users (the test runs as root,
// which creates files owned by them).
func TestSubmitChecksTheCallerCanReadTheSource(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes files owned by other users and must run as root (as make test does)")
	}
	td := startDaemon(t, baseConfig)
	dir := filepath.Join(td.root, "sources")
	os.MkdirAll(dir, 0o755)
	// os.MkdirTemp made the test's root 0700: others could not enter it.
	os.Chmod(td.root, 0o755)
	mk := func(name string, uid, gid int, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, uid, gid)
		os.Chmod(p, mode)
		return p
	}
	locked := filepath.Join(dir, "locked")
	os.MkdirAll(locked, 0o700)
	os.Chown(locked, 1001, 1001)
	inLocked := filepath.Join(locked, "in.mkv")
	os.WriteFile(inLocked, []byte("x"), 0o644)

	cases := []struct {
		name   string
		source string
		peer   peerCred
		status int
		code   string
	}{
		{"other user's private file", mk("a.mkv", 1001, 1001, 0o600), peerCred{pid: 0, uid: 1002, gid: 1002}, 403, "source_not_readable"},
		{"own private file", mk("b.mkv", 1001, 1001, 0o600), peerCred{pid: 0, uid: 1001, gid: 1001}, 201, ""},
		{"group-readable, peer in group", mk("c.mkv", 1001, 1003, 0o640), peerCred{pid: 0, uid: 1002, gid: 1003}, 201, ""},
		{"group-readable, peer not in group", mk("d.mkv", 1001, 1003, 0o640), peerCred{pid: 0, uid: 1002, gid: 1002}, 403, "source_not_readable"},
		{"owner without read bit", mk("e.mkv", 1001, 1001, 0o244), peerCred{pid: 0, uid: 1001, gid: 1001}, 403, "source_not_readable"},
		{"world-readable", mk("f.mkv", 1001, 1001, 0o644), peerCred{pid: 0, uid: 1002, gid: 1002}, 201, ""},
		{"folder the peer cannot enter", inLocked, peerCred{pid: 0, uid: 1002, gid: 1002}, 403, "source_not_readable"},
		{"root reads anything", mk("g.mkv", 1001, 1001, 0o000), peerCred{pid: 0, uid: 0, gid: 0}, 201, ""},
	}
	h := td.d.api.handler()
	for _, tc := range cases {
		b, _ := json.Marshal(api.SubmitRequest{Source: tc.source, Profile: "p1"})
		req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req = req.WithContext(context.WithValue(req.Context(), peerCredKey{}, tc.peer))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if tc.status == 201 {
			if rec.Code != 201 {
				t.Errorf("%s: %d %s, want 201", tc.name, rec.Code, rec.Body)
			}
			continue
		}
		wantAPIError(t, tc.name, rec.Code, rec.Body.Bytes(), tc.status, tc.code)
		if !strings.Contains(rec.Body.String(), "uid 1002") && !strings.Contains(rec.Body.String(), "uid 1001") {
			t.Errorf("%s: the reason does not name the caller: %s", tc.name, rec.Body)
		}
	}
}

// TestSubmitOverTheSocketAsAnotherUser: the same check end to end, with the
// credentials the kernel gives the socket: a user (nobody) may submit a
// world-readable file, not root's private one.
func TestSubmitOverTheSocketAsAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test connects as another user and must run as root (as make test does)")
	}
	td := startDaemon(t, baseConfig)
	os.Chmod(td.root, 0o755)
	os.Chmod(td.d.cfg.Load().Daemon.Socket, 0o666)
	private, public := td.source("private.mkv"), td.source("public.mkv")
	os.Chmod(private, 0o600)
	submit := func(src string) (int, string) {
		b, _ := json.Marshal(api.SubmitRequest{Source: src, Profile: "p1"})
		status, body, err := requestAs(td.d.cfg.Load().Daemon.Socket, 65534, "POST", "/v1/jobs", string(b))
		if err != nil {
			t.Fatal(err)
		}
		return status, body
	}
	if status, body := submit(private); status != 403 || !strings.Contains(body, "source_not_readable") || !strings.Contains(body, "uid 65534") {
		t.Errorf("nobody submitting root's 0600 file: %d %s; want 403 source_not_readable naming uid 65534", status, body)
	}
	if status, body := submit(public); status != 201 {
		t.Errorf("nobody submitting a world-readable file: %d %s; want 201", status, body)
	}
}
