package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln/job"
	"kiln/packaging"
)

// The ABR profiles under test: a clear package in every format, loose
// files; and an AES-128 HLS package in a tar, whose key the test server
// hands out as a key server would ({{keys}} becomes its URL).
const abrConfig = `
[daemon]
state_dir = "{{root}}/state"
socket    = "{{root}}/run/kiln.sock"

[profile.web]
kind = "abr"
formats = ["hls", "dash", "smooth"]
video_bitrate = "1600k"
segment = "2s"
thumbnails = { every = "2s" }

[profile.web-secure]
kind = "abr"
formats = ["hls"]
video_bitrate = "1200k"
segment = "2s"
package = "tar"
encryption = { method = "aes-128", key_uri = "{{keys}}/{job}.key" }
`

// rungWant is a rung as the ladder table makes it for the test sources.
type rungWant struct {
	width, height int
	bitrate       int64
}

// packageServer serves the player, the packages and the keys on 127.0.0.1,
// and remembers what was asked of it.
type packageServer struct {
	*httptest.Server
	pkgRoot string
	keyDirs map[string]string // key URI → folder with keys.json
	mu      sync.Mutex
	log     []string
}

func newPackageServer(t *testing.T, playerDir string) *packageServer {
	for ext, typ := range map[string]string{".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml",
		".m4s": "video/iso.segment", ".ts": "video/mp2t", ".vtt": "text/vtt", ".ismc": "text/xml"} {
		mime.AddExtensionType(ext, typ)
	}
	s := &packageServer{pkgRoot: t.TempDir(), keyDirs: map[string]string{}}
	mux := http.NewServeMux()
	mux.Handle("/player/", http.StripPrefix("/player/", http.FileServer(http.Dir(playerDir))))
	mux.Handle("/pkg/", http.StripPrefix("/pkg/", http.FileServer(http.Dir(s.pkgRoot))))
	mux.HandleFunc("/keys/", s.serveKey)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.log = append(s.log, r.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// serveKey answers a key URI from a job's key folder, as a key server would
// after checking the player's rights.
func (s *packageServer) serveKey(w http.ResponseWriter, r *http.Request) {
	uri := s.URL + r.URL.Path
	s.mu.Lock()
	dir, ok := s.keyDirs[uri]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	var index struct {
		Keys []packaging.KeyInfo `json:"keys"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err == nil {
		err = json.Unmarshal(b, &index)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, k := range index.Keys {
		if k.URI == uri {
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeFile(w, r, filepath.Join(dir, k.File))
			return
		}
	}
	http.NotFound(w, r)
}

func (s *packageServer) requested(re *regexp.Regexp) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.log {
		if re.MatchString(p) {
			out = append(out, p)
		}
	}
	return out
}

// TestABRPackages encodes two sources into ABR packages with `kilnd
// transcode`, checks them with ffprobe, openssl and sha256sum, and plays
// them in headless Chromium with hls.js and dash.js.
func TestABRPackages(t *testing.T) {
	root := t.TempDir()
	chromium, chromiumErr := chromiumPath()
	var player string
	if chromiumErr == nil {
		player = playerFolder(t)
	}
	srv := newPackageServer(t, player)

	cfg := filepath.Join(root, "kiln.toml")
	text := strings.NewReplacer("{{root}}", root, "{{keys}}", srv.URL+"/keys").Replace(abrConfig)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// 480p25 with stereo; and 576i25 16:9 (anamorphic, interlaced) MPEG-2.
	web := ffmpeg(t, filepath.Join(root, "clip480.mp4"), "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25",
		"-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
		"-pix_fmt", "yuv420p", "-ac", "2", "-c:a", "aac")
	secure := ffmpeg(t, filepath.Join(root, "clip576i.ts"), "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25",
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "5", "-vf", "setfield=tff", "-c:v", "mpeg2video",
		"-b:v", "6M", "-flags", "+ildct+ilme", "-aspect", "16:9", "-ac", "2", "-c:a", "mp2", "-f", "mpegts")
	out := filepath.Join(root, "out")
	transcode := func(t *testing.T, profile, src string) job.Report {
		t.Helper()
		began := time.Now()
		cmd := exec.Command(kilndBin, "transcode", "--config", cfg, "--profile", profile, src, out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kilnd transcode --profile %s: %v\n%s", profile, err, b)
		}
		stem := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
		t.Logf("%s → %s in %.1f s", filepath.Base(src), profile, time.Since(began).Seconds())
		return readReport(t, filepath.Join(out, stem, profile, stem+".kiln.json"))
	}

	t.Run("clear package: HLS, DASH, Smooth", func(t *testing.T) {
		report := transcode(t, "web", web)
		dir := filepath.Join(out, "clip480", "web")
		checkReport(t, report, []rungWant{{854, 480, 1_600_000}, {768, 432, 800_000}, {640, 360, 400_000}, {480, 270, 200_000}})
		checkManifestsOpen(t, dir, "master.m3u8", "manifest.mpd", "master-cmaf.m3u8")
		checkSameCMAFFiles(t, dir)
		checkSums(t, dir)
		checkIFrame(t, dir, report.ABR.Ladder[0].Name)
		checkThumbnails(t, dir, 854, 480, 3)
		checkSmooth(t, dir, "clip480", len(report.ABR.Ladder))
		if err := os.Symlink(dir, filepath.Join(srv.pkgRoot, "web")); err != nil {
			t.Fatal(err)
		}
		if chromiumErr != nil {
			t.Fatalf("browser playback needs Chromium: %v (make setup installs the chromium package)", chromiumErr)
		}
		// Smooth Streaming plays from the static layout, served by a plain
		// file server: smooth/Manifest and a file per fragment URL.
		for _, c := range []struct{ kind, manifest string }{{"hls", "master.m3u8"}, {"hls", "master-cmaf.m3u8"}, {"dash", "manifest.mpd"}, {"mss", "smooth/Manifest"}} {
			t.Run(c.kind+" "+c.manifest, func(t *testing.T) {
				checkPlayback(t, srv, chromium, c.kind, "/pkg/web/"+c.manifest, report)
			})
		}
		// The forced switch fetched the lowest rung's segments.
		lowest := report.ABR.Ladder[len(report.ABR.Ladder)-1]
		if got := srv.requested(regexp.MustCompile(`^/pkg/web/(hls|cmaf)/` + regexp.QuoteMeta(lowest.Name) + `/seg-`)); len(got) == 0 {
			t.Errorf("no player fetched a segment of the lowest rung %s", lowest.Name)
		}
		smoothLow := regexp.MustCompile(fmt.Sprintf(`^/pkg/web/smooth/QualityLevels\(%d\)/Fragments\(video=\d+\)$`, lowest.Bitrate))
		if got := srv.requested(smoothLow); len(got) == 0 {
			t.Errorf("the Smooth Streaming player fetched no fragment of the lowest rung (%s)", smoothLow)
		}
		if got := srv.requested(regexp.MustCompile(`^/pkg/web/smooth/QualityLevels\(\d+\)/Fragments\(audio=\d+\)$`)); len(got) == 0 {
			t.Error("the Smooth Streaming player fetched no audio fragment")
		}
	})

	t.Run("AES-128 HLS in a tar", func(t *testing.T) {
		report := transcode(t, "web-secure", secure)
		dir := filepath.Join(out, "clip576i", "web-secure")
		// 1024x576 in display (SAR 64:45), deinterlaced to 25p.
		checkReport(t, report, []rungWant{{960, 540, 1_200_000}, {640, 360, 600_000}, {480, 270, 300_000}, {416, 234, 150_000}})
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, " ") != "clip576i.kiln.json clip576i.tar" {
			t.Fatalf("job folder holds %v, want the tar and the report only", names)
		}
		pkg := filepath.Join(srv.pkgRoot, "secure")
		os.MkdirAll(pkg, 0o755)
		if b, err := exec.Command("tar", "-xf", filepath.Join(dir, "clip576i.tar"), "-C", pkg).CombinedOutput(); err != nil {
			t.Fatalf("tar -xf: %v\n%s", err, b)
		}
		checkSums(t, pkg)
		keyDir := filepath.Join(out, "clip576i", "web-secure.keys")
		checkKeysPrivate(t, keyDir, pkg)
		if report.ABR.Encryption == nil || report.ABR.Encryption.KeyFolder != keyDir {
			t.Fatalf("report's encryption: %+v, want the key folder %s", report.ABR.Encryption, keyDir)
		}
		k := report.ABR.Encryption.Keys[0]
		srv.mu.Lock()
		srv.keyDirs[k.URI] = keyDir
		srv.mu.Unlock()
		if want := srv.URL + "/keys/0.key"; k.URI != want {
			t.Errorf("key URI %q, want %q ({job} is 0 for kilnd transcode)", k.URI, want)
		}
		checkOpenSSL(t, pkg, keyDir, k, report.ABR.Ladder[0].Name)
		// ffprobe fetches the key over HTTP, as a player does.
		checkManifestsOpen(t, "", srv.URL+"/pkg/secure/master.m3u8")
		if chromiumErr != nil {
			t.Fatalf("browser playback needs Chromium: %v (make setup installs the chromium package)", chromiumErr)
		}
		checkPlayback(t, srv, chromium, "hls", "/pkg/secure/master.m3u8", report)
		if got := srv.requested(regexp.MustCompile(`^/keys/`)); len(got) == 0 {
			t.Error("the player never fetched the AES-128 key")
		}
	})
}

// checkReport: every check passed, and the ladder is the one the table makes.
func checkReport(t *testing.T, r job.Report, want []rungWant) {
	t.Helper()
	for _, c := range r.Checks {
		if !c.Pass {
			t.Errorf("report check %q failed: expected %s, got %s", c.Name, c.Expected, c.Actual)
		}
	}
	if r.ABR == nil {
		t.Fatal("the report has no abr section")
	}
	var got, exp []string
	for _, g := range r.ABR.Ladder {
		got = append(got, fmt.Sprintf("%dx%d@%dk", g.Width, g.Height, g.Bitrate/1000))
		if !regexp.MustCompile(`^avc1\.64[0-9a-f]{4}$`).MatchString(g.Codecs) {
			t.Errorf("rung %s CODECS %q, want avc1.64xxxx (High profile)", g.Name, g.Codecs)
		}
	}
	for _, w := range want {
		exp = append(exp, fmt.Sprintf("%dx%d@%dk", w.width, w.height, w.bitrate/1000))
	}
	if strings.Join(got, " ") != strings.Join(exp, " ") {
		t.Fatalf("ladder %v, want %v", got, exp)
	}
	if r.ABR.SegmentSeconds != 2 {
		t.Errorf("segment %.3f s, want 2", r.ABR.SegmentSeconds)
	}
	if len(r.ABR.Groups) == 0 {
		t.Error("the report lists no file groups")
	}
}

// checkManifestsOpen: ffprobe opens each manifest and finds four video
// renditions.
func checkManifestsOpen(t *testing.T, dir string, manifests ...string) {
	t.Helper()
	for _, m := range manifests {
		target := m
		if dir != "" {
			target = filepath.Join(dir, m)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-protocol_whitelist", "file,http,tcp,crypto,data",
			"-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json", target).CombinedOutput()
		if err != nil {
			t.Errorf("ffprobe %s: %v\n%s", m, err, out)
			continue
		}
		var p struct {
			Streams []struct {
				Type  string `json:"codec_type"`
				Codec string `json:"codec_name"`
			} `json:"streams"`
		}
		json.Unmarshal(out, &p)
		videos := 0
		for _, s := range p.Streams {
			if s.Type == "video" && s.Codec == "h264" {
				videos++
			}
		}
		if videos != 4 {
			t.Errorf("ffprobe %s: %d H.264 renditions, want 4\n%s", m, videos, out)
		}
	}
}

var (
	mpdInitRE  = regexp.MustCompile(`initialization="([^"]+)"`)
	mpdMediaRE = regexp.MustCompile(`media="([^"]+)"`)
	mpdSRE     = regexp.MustCompile(`<S (?:t="\d+" )?d="\d+"(?: r="(\d+)")?`)
)

// checkSameCMAFFiles: the DASH MPD and the CMAF HLS playlists point at the
// very same init and media files.
func checkSameCMAFFiles(t *testing.T, dir string) {
	t.Helper()
	mpd, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	dash := map[string]bool{}
	reps := strings.Split(string(mpd), "<Representation ")[1:]
	for _, rep := range reps {
		init := mpdInitRE.FindStringSubmatch(rep)
		media := mpdMediaRE.FindStringSubmatch(rep)
		if init == nil || media == nil {
			t.Fatalf("a Representation without a SegmentTemplate:\n%s", rep)
		}
		dash[init[1]] = true
		n := 0
		for _, s := range mpdSRE.FindAllStringSubmatch(rep, -1) {
			r, _ := strconv.Atoi(s[1])
			n += r + 1
		}
		for i := 1; i <= n; i++ {
			dash[strings.Replace(media[1], "$Number%05d$", fmt.Sprintf("%05d", i), 1)] = true
		}
	}
	hls := map[string]bool{}
	master, err := os.ReadFile(filepath.Join(dir, "master-cmaf.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	var playlists []string
	for _, line := range strings.Split(string(master), "\n") {
		if m := regexp.MustCompile(`URI="([^"]+index\.m3u8)"`).FindStringSubmatch(line); m != nil {
			playlists = append(playlists, m[1])
		} else if line != "" && !strings.HasPrefix(line, "#") {
			playlists = append(playlists, line)
		}
	}
	for _, pl := range playlists {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pl)))
		if err != nil {
			t.Fatal(err)
		}
		base := path.Dir(pl)
		for _, line := range strings.Split(string(b), "\n") {
			if m := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"`).FindStringSubmatch(line); m != nil {
				hls[path.Join(base, m[1])] = true
			} else if line != "" && !strings.HasPrefix(line, "#") {
				hls[path.Join(base, line)] = true
			}
		}
	}
	if len(dash) == 0 || !sameSet(dash, hls) {
		t.Errorf("DASH references %d files and HLS (CMAF) %d; they differ:\n dash %v\n hls  %v", len(dash), len(hls), slices.Sorted(maps.Keys(dash)), slices.Sorted(maps.Keys(hls)))
	}
	for f := range dash {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil {
			t.Errorf("the MPD references %s, which is missing", f)
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// checkSums runs sha256sum -c on the package's manifest.
func checkSums(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("sha256sum", "--quiet", "-c", "SHA256SUMS")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c SHA256SUMS in %s: %v\n%s", dir, err, b)
	}
}

// checkIFrame cuts the first I-frame playlist entry out of its segment and
// has ffprobe decode it: the byte range holds a whole keyframe.
func checkIFrame(t *testing.T, dir, rung string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "hls", rung, "iframes.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#EXT-X-BYTERANGE:(\d+)@(\d+)\n(\S+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no byte range in the I-frame playlist:\n%s", b)
	}
	n, _ := strconv.Atoi(m[1])
	off, _ := strconv.Atoi(m[2])
	seg, err := os.ReadFile(filepath.Join(dir, "hls", rung, m[3]))
	if err != nil || off+n > len(seg) {
		t.Fatalf("I-frame range %d@%d of %s (%d bytes): %v", n, off, m[3], len(seg), err)
	}
	cut := filepath.Join(t.TempDir(), "iframe.ts")
	os.WriteFile(cut, seg[off:off+n], 0o644)
	if v := ffprobe(t, cut).video(); v.Codec != "h264" || v.Frames != 1 {
		t.Errorf("the first I-frame range decodes to %d %s pictures, want one H.264 picture", v.Frames, v.Codec)
	}
}

func checkThumbnails(t *testing.T, dir string, w, h, cues int) {
	t.Helper()
	p := ffprobe(t, filepath.Join(dir, "thumbnails", "poster.jpg"))
	if v := p.video(); v.Codec != "mjpeg" || v.Width != w || v.Height != h {
		t.Errorf("poster: %s %dx%d, want a %dx%d JPEG", v.Codec, v.Width, v.Height, w, h)
	}
	vtt, err := os.ReadFile(filepath.Join(dir, "thumbnails", "thumbnails.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(vtt), "WEBVTT") || strings.Count(string(vtt), "#xywh=") != cues {
		t.Errorf("thumbnail track: want WEBVTT with %d #xywh= cues:\n%s", cues, vtt)
	}
	if sp := ffprobe(t, filepath.Join(dir, "thumbnails", "sprite-001.jpg")); sp.video().Codec != "mjpeg" {
		t.Errorf("sprite sheet is not a JPEG")
	}
}

// checkSmooth: ffprobe reads every .ismv and .isma, and the client
// manifest lists as many chunks as the files hold fragments.
func checkSmooth(t *testing.T, dir, name string, rungs int) {
	t.Helper()
	ismc, err := os.ReadFile(filepath.Join(dir, "smooth", name+".ismc"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<StreamIndex Type="video"[^>]* Chunks="(\d+)" QualityLevels="(\d+)"`).FindStringSubmatch(string(ismc))
	if m == nil || m[2] != strconv.Itoa(rungs) {
		t.Fatalf("client manifest lacks a video StreamIndex with %d quality levels:\n%s", rungs, ismc)
	}
	chunks, _ := strconv.Atoi(m[1])
	files, _ := filepath.Glob(filepath.Join(dir, "smooth", "*.ismv"))
	if len(files) != rungs {
		t.Fatalf("%d .ismv files, want %d", len(files), rungs)
	}
	for _, f := range files {
		if p := ffprobe(t, f); p.video().Codec != "h264" {
			t.Errorf("%s: no H.264", filepath.Base(f))
		}
		frags, err := packaging.ReadFragments(f)
		if err != nil || len(frags) != chunks {
			t.Errorf("%s has %d fragments (%v), the client manifest says %d", filepath.Base(f), len(frags), err, chunks)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "smooth", name+".ism")); err != nil {
		t.Error("no server manifest (.ism)")
	}
	// The static layout: Manifest is the client manifest, and there is one
	// file per quality level and chunk (the browser test plays it).
	static, err := os.ReadFile(filepath.Join(dir, "smooth", "Manifest"))
	if err != nil || !bytes.Equal(static, ismc) {
		t.Errorf("smooth/Manifest is not the client manifest (%v)", err)
	}
	levels := regexp.MustCompile(`<QualityLevel `).FindAll(ismc, -1)
	streamChunks := 0
	for _, m := range regexp.MustCompile(`<StreamIndex [^>]* Chunks="(\d+)" QualityLevels="(\d+)"`).FindAllSubmatch(ismc, -1) {
		c, _ := strconv.Atoi(string(m[1]))
		q, _ := strconv.Atoi(string(m[2]))
		streamChunks += c * q
	}
	frags, _ := filepath.Glob(filepath.Join(dir, "smooth", "QualityLevels(*)", "Fragments(*=*)"))
	if len(levels) == 0 || len(frags) != streamChunks {
		t.Errorf("the static layout holds %d fragment files, the client manifest lists %d", len(frags), streamChunks)
	}
}

// checkKeysPrivate: the key folder is the owner's alone, and no key is in
// the package.
func checkKeysPrivate(t *testing.T, keyDir, pkg string) {
	t.Helper()
	st, err := os.Stat(keyDir)
	if err != nil {
		t.Fatalf("key folder: %v", err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("key folder mode %04o, want 0700", st.Mode().Perm())
	}
	ks, err := os.Stat(filepath.Join(keyDir, "key-1.key"))
	if err != nil || ks.Mode().Perm() != 0o600 || ks.Size() != 16 {
		t.Errorf("key file: %v, want 16 bytes with mode 0600", err)
	}
	key, _ := os.ReadFile(filepath.Join(keyDir, "key-1.key"))
	filepath.Walk(pkg, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.HasSuffix(p, ".key") || (len(key) == 16 && bytes.Contains(b, key)) {
			t.Errorf("the package holds the key: %s", p)
		}
		return nil
	})
}

// checkOpenSSL decrypts the first segment of the top rung with openssl, the
// way a person checking a delivery would, and probes the result.
func checkOpenSSL(t *testing.T, pkg, keyDir string, k job.ABRKeyInfo, rung string) {
	t.Helper()
	playlist, err := os.ReadFile(filepath.Join(pkg, "hls", rung, "index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9A-F]{32})`).FindStringSubmatch(string(playlist))
	if m == nil || m[1] != k.URI || "0x"+m[2] != k.IV {
		t.Fatalf("the playlist's EXT-X-KEY does not match the report's key %+v:\n%s", k, playlist)
	}
	key, err := os.ReadFile(filepath.Join(keyDir, k.File))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is not installed (Debian: apt-get install openssl)")
	}
	plain := filepath.Join(t.TempDir(), "seg-00001.ts")
	out, err := exec.Command("openssl", "aes-128-cbc", "-d", "-K", hex.EncodeToString(key), "-iv", m[2],
		"-in", filepath.Join(pkg, "hls", rung, "seg-00001.ts"), "-out", plain).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl aes-128-cbc -d: %v\n%s", err, out)
	}
	p := ffprobe(t, plain)
	if p.Format.FormatName != "mpegts" || p.video().Codec != "h264" {
		t.Errorf("the decrypted segment is %s with %q video, want MPEG-TS with H.264", p.Format.FormatName, p.video().Codec)
	}
	raw, _ := os.ReadFile(filepath.Join(pkg, "hls", rung, "seg-00001.ts"))
	if len(raw) > 0 && raw[0] == 0x47 {
		t.Error("the segment on disk starts with a TS sync byte: it is not encrypted")
	}
}

// checkPlayback plays a manifest in Chromium: playback passes 3.5 s, the
// player's renditions are the ladder, and it switched from the top rung to
// the lowest without an error.
func checkPlayback(t *testing.T, srv *packageServer, chromium, kind, manifest string, report job.Report) {
	t.Helper()
	page := srv.URL + "/player/player.html?kind=" + kind + "&src=" + url.QueryEscape(manifest)
	res := playInChromium(t, chromium, page, 60*time.Second)
	t.Logf("%s %s: reason %q, played to %.2f s, renditions played %v, errors %v", kind, manifest, res.Reason, res.MaxTime, res.Played, res.Errors)
	if res.Reason != "played" || res.MaxTime <= 3 {
		t.Fatalf("playback did not pass 3 s: %s at %.2f s, errors %v", res.Reason, res.MaxTime, res.Errors)
	}
	var got, want []string
	for _, l := range res.Levels {
		got = append(got, fmt.Sprintf("%dx%d", l.Width, l.Height))
	}
	for _, r := range report.ABR.Ladder {
		want = append(want, fmt.Sprintf("%dx%d", r.Width, r.Height))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the player's renditions %v, want the ladder %v", got, want)
	}
	// A Smooth Streaming QualityLevel carries the rung's nominal bitrate
	// (its fragment URLs are named by it); HLS and DASH carry measured
	// ones, which the report's checks cover.
	if kind == "mss" {
		var gotRates, wantRates []int64
		for _, l := range res.Levels {
			gotRates = append(gotRates, l.Bitrate)
		}
		for _, r := range report.ABR.Ladder {
			wantRates = append(wantRates, r.Bitrate)
		}
		slices.Sort(gotRates)
		slices.Sort(wantRates)
		if !slices.Equal(gotRates, wantRates) {
			t.Errorf("the player's bitrates %v, want the ladder's %v", gotRates, wantRates)
		}
	}
	distinct := map[int]bool{}
	for _, p := range res.Played {
		distinct[p] = true
	}
	if !res.Switched || len(distinct) < 2 {
		t.Errorf("the player did not switch renditions: played %v", res.Played)
	}
	if want := len(report.SourceProbe.AudioStreams()); res.AudioTracks != want {
		t.Errorf("the player found %d audio tracks, want %d", res.AudioTracks, want)
	}
	for _, e := range res.Errors {
		if strings.Contains(e, "fatal") {
			t.Errorf("player error: %s", e)
		}
	}
}
