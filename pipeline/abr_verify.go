package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"

	"kiln/job"
	"kiln/packaging"
	"kiln/pipeline/plan"
)

// abrVerifier checks a package the way players and origins will read it:
// libav opens each manifest (a demuxer Kiln did not write), the playlists'
// durations are read back from the files, every rung's keyframes are read
// from its segments and compared, and CODECS is compared with what a decoder
// finds in the stream.
type abrVerifier struct {
	dir    string
	plan   plan.Plan
	run    runState
	enc    *abrEncode
	pkg    *packaging.Package
	keyDir string
	keys   []*packaging.Key

	tmp     string
	checks  []job.Check
	outputs []job.Output
}

func (v *abrVerifier) add(name, expected, actual string, pass bool) {
	v.checks = append(v.checks, job.Check{Name: name, Expected: expected, Actual: actual, Pass: pass})
}

// openOptions lets libav's HLS demuxer open the key files of a mirrored,
// encrypted playlist, whose extension it does not know.
var openOptions = map[string]string{"allowed_extensions": "ALL"}

func (v *abrVerifier) verify(report *job.Report) ([]job.Output, []job.Check, error) {
	tmp, err := os.MkdirTemp("", "kiln-abr-verify-")
	if err != nil {
		return nil, nil, fmt.Errorf("verifying: %w", err)
	}
	defer os.RemoveAll(tmp)
	v.tmp = tmp
	a := v.plan.ABR
	if a.Has("hls") {
		if err := v.verifyHLS(packaging.HLSMaster, "HLS", len(v.keys) > 0); err != nil {
			return nil, nil, err
		}
	}
	if a.Has("dash") {
		if err := v.verifyDASH(); err != nil {
			return nil, nil, err
		}
		if _, err := os.Stat(filepath.Join(v.dir, packaging.CMAFHLSMaster)); err == nil {
			if err := v.verifyHLS(packaging.CMAFHLSMaster, "HLS (CMAF)", false); err != nil {
				return nil, nil, err
			}
		}
	}
	if a.Has("smooth") {
		if err := v.verifySmooth(); err != nil {
			return nil, nil, err
		}
	}
	if err := v.verifyThumbnails(); err != nil {
		return nil, nil, err
	}
	loud, err := v.verifyLoudness(report)
	if err != nil {
		return nil, nil, err
	}
	return v.outputs, append(v.checks, loud...), nil
}

// ladderSizes lists the rungs' rasters, largest first, as a probe shows them.
func (v *abrVerifier) ladderSizes() string {
	var s []string
	for _, r := range v.plan.ABR.Rungs {
		s = append(s, fmt.Sprintf("%dx%d", r.Width, r.Height))
	}
	return strings.Join(s, " ")
}

func probedSizes(info job.MediaInfo) string {
	var s []string
	for _, st := range info.VideoStreams() {
		s = append(s, fmt.Sprintf("%dx%d", st.Width, st.Height))
	}
	sort.SliceStable(s, func(i, j int) bool { return sizeArea(s[i]) > sizeArea(s[j]) })
	return strings.Join(s, " ")
}

func sizeArea(s string) int {
	w, h, _ := strings.Cut(s, "x")
	a, _ := strconv.Atoi(w)
	b, _ := strconv.Atoi(h)
	return a * b
}

// verifyHLS opens a master playlist with libav, reads back each variant's
// segment durations, keyframes and CODECS.
func (v *abrVerifier) verifyHLS(master, label string, encrypted bool) error {
	path := filepath.Join(v.dir, master)
	open := path
	if encrypted {
		var err error
		if open, err = v.mirror(master); err != nil {
			return err
		}
	}
	info, err := probeWith(open, openOptions)
	if err != nil {
		v.add(label+": libav opens "+master, "opens", Reason(err), false)
		return nil
	}
	v.outputs = append(v.outputs, job.Output{Name: master, Probe: info})
	v.add(label+": libav opens "+master+" (video renditions)", v.sortedLadder(), probedSizes(info), probedSizes(info) == v.sortedLadder())
	v.add(label+": audio renditions", fmt.Sprint(len(v.plan.Audio)), fmt.Sprint(len(info.AudioStreams())), len(info.AudioStreams()) == len(v.plan.Audio))

	variants, err := readMasterVariants(path)
	if err != nil {
		return err
	}
	if len(variants) != len(v.plan.ABR.Rungs) {
		v.add(label+": variants in "+master, fmt.Sprint(len(v.plan.ABR.Rungs)), fmt.Sprint(len(variants)), false)
		return nil
	}
	// Every variant's audio is the group's first rendition.
	var audioCodecs []streamCodec
	if len(v.pkg.Audio) > 0 {
		if _, audioCodecs, err = keyframeTimes(v.openPath(encrypted, v.audioPlaylist(master))); err != nil {
			v.add(label+": libav reads the audio rendition", "reads", Reason(err), false)
		}
	}
	var reference rungTimeline
	for i, vr := range variants {
		rung := v.plan.ABR.Rungs[i]
		playlist := filepath.Join(v.dir, filepath.FromSlash(vr.uri))
		durs, err := readExtinf(playlist)
		if err != nil {
			return err
		}
		v.checkDurations(fmt.Sprintf("%s %s: segment durations", label, rung.Name), durs, rung)

		open := playlist
		if encrypted {
			if open, err = v.mirror(vr.uri); err != nil {
				return err
			}
		}
		tl, codecs, err := keyframeTimes(open)
		if err != nil {
			v.add(fmt.Sprintf("%s %s: libav reads the rendition", label, rung.Name), "reads", Reason(err), false)
			continue
		}
		v.checkSegmentsStartOnKeyframes(fmt.Sprintf("%s %s: every segment starts with an IDR", label, rung.Name), durs, tl.keys)
		if i == 0 {
			reference = tl
		} else {
			v.checkTimeline(fmt.Sprintf("%s %s: first picture and IDRs at %s's times (libav)", label, rung.Name, v.plan.ABR.Rungs[0].Name), reference, tl)
		}
		v.checkCodecs(fmt.Sprintf("%s %s: CODECS", label, rung.Name), vr.codecs, append(codecs, audioCodecs...))
	}
	if encrypted {
		v.verifyEncryption(variants)
	}
	return nil
}

func (v *abrVerifier) sortedLadder() string {
	s := strings.Fields(v.ladderSizes())
	sort.SliceStable(s, func(i, j int) bool { return sizeArea(s[i]) > sizeArea(s[j]) })
	return strings.Join(s, " ")
}

// checkDurations: every segment but the last lasts the planned segment
// within one frame, and the last is no longer.
func (v *abrVerifier) checkDurations(name string, durs []float64, rung plan.ABRRung) {
	target := v.plan.ABR.GOP.Segment
	frame := 1 / rung.Rate.Float()
	lo, hi := math.Inf(1), 0.0
	ok := len(durs) > 0
	for i, d := range durs {
		lo, hi = math.Min(lo, d), math.Max(hi, d)
		if i < len(durs)-1 && math.Abs(d-target) > frame+0.0015 {
			ok = false
		}
		if d > target+frame+0.0015 {
			ok = false
		}
	}
	v.add(name, fmt.Sprintf("%.3f s ± 1 frame, the last no longer", target),
		fmt.Sprintf("%d segments, %.3f–%.3f s", len(durs), lo, hi), ok)
}

// checkSegmentsStartOnKeyframes places the segments on the rendition's
// timeline by their durations and looks for a keyframe at each start.
func (v *abrVerifier) checkSegmentsStartOnKeyframes(name string, durs []float64, keys []float64) {
	if len(keys) == 0 {
		v.add(name, "keyframes", "none", false)
		return
	}
	t := keys[0]
	missing := []string{}
	for i := range durs {
		if !nearAny(t, keys, 0.002) {
			missing = append(missing, fmt.Sprintf("segment %d at %.3f s", i+1, t-keys[0]))
		}
		t += durs[i]
	}
	actual := fmt.Sprintf("%d of %d", len(durs)-len(missing), len(durs))
	if len(missing) > 0 {
		actual += "; no IDR at " + strings.Join(missing, ", ")
	}
	v.add(name, fmt.Sprintf("%d of %d", len(durs), len(durs)), actual, len(missing) == 0)
}

func nearAny(t float64, list []float64, tol float64) bool {
	i := sort.SearchFloat64s(list, t-tol)
	return i < len(list) && math.Abs(list[i]-t) <= tol
}

// rungTimeline is where a player shows a rendition's pictures, in seconds:
// its first picture and its IDRs; and when it decodes the first, which
// demuxers that anchor a stream on its first decode time (GStreamer's
// tsdemux) start from.
type rungTimeline struct {
	first  float64
	keys   []float64
	decode float64
}

// timelineTolerance is how far two rungs' times may differ and still be
// one: rounding to a 90 kHz or 10 MHz clock, far below a picture.
const timelineTolerance = 0.0005

func (t rungTimeline) String() string {
	var keys []string
	for i, k := range t.keys {
		if i == 8 {
			keys = append(keys, "…")
			break
		}
		keys = append(keys, fmt.Sprintf("%.4f", k))
	}
	return fmt.Sprintf("first picture at %.4f s (decoded at %.4f s), %d IDRs at %s s", t.first, t.decode, len(t.keys), strings.Join(keys, " "))
}

// checkTimeline compares a rung's timeline with the reference rung's: a
// player switching between them must find the same first picture time and
// the same IDR times, or it shows a jump at every switch.
func (v *abrVerifier) checkTimeline(name string, ref, got rungTimeline) {
	same := math.Abs(ref.first-got.first) < timelineTolerance && math.Abs(ref.decode-got.decode) < timelineTolerance &&
		len(ref.keys) == len(got.keys)
	for i := 0; same && i < len(ref.keys); i++ {
		same = math.Abs(ref.keys[i]-got.keys[i]) < timelineTolerance
	}
	v.add(name, ref.String(), got.String(), same)
}

// fragmentTimeline reads fragmented MP4 files (a rendition's segments, in
// order) as a player places their pictures: decode time plus composition
// offset. A fragment per GOP makes each sync fragment's time an IDR time.
// negative counts the fragments with a negative composition offset, which
// players read differently.
func fragmentTimeline(paths []string, timescale float64) (tl rungTimeline, negative int, err error) {
	first := true
	for _, p := range paths {
		frags, err := packaging.ReadFragments(p)
		if err != nil {
			return tl, 0, fmt.Errorf("verifying: %w", err)
		}
		for _, f := range frags {
			t := float64(f.Presentation) / timescale
			if first {
				tl.decode = float64(f.Time) / timescale
			}
			if first || t < tl.first {
				tl.first, first = t, false
			}
			if f.Sync {
				tl.keys = append(tl.keys, t)
			}
			if f.NegativeOffsets {
				negative++
			}
		}
	}
	return tl, negative, nil
}

// checkFragmentTimelines compares every rung's fragment timeline with the
// first rung's, and looks for negative composition offsets.
func (v *abrVerifier) checkFragmentTimelines(label string, timescale func(i int) float64, files func(i int) []string) error {
	var ref rungTimeline
	for i, r := range v.pkg.Video {
		tl, negative, err := fragmentTimeline(files(i), timescale(i))
		if err != nil {
			return err
		}
		v.add(fmt.Sprintf("%s %s: no negative composition offsets", label, r.Rung.Name), "0 fragments with one",
			fmt.Sprintf("%d fragments with one", negative), negative == 0)
		if i == 0 {
			ref = tl
			continue
		}
		v.checkTimeline(fmt.Sprintf("%s %s: first picture and IDRs at %s's times", label, r.Rung.Name, v.pkg.Video[0].Rung.Name), ref, tl)
	}
	return nil
}

// streamCodec is what a decoder reports about one stream: the codec, its
// profile (libav's number: profile_idc for H.264, object type − 1 for AAC)
// and level.
type streamCodec struct {
	codec          string
	profile, level int
}

// codecsWord is the RFC 6381 word a stream should have in CODECS, with xx
// for the H.264 constraint flags, which a decoder does not report.
func (c streamCodec) codecsWord() string {
	switch c.codec {
	case "h264":
		return fmt.Sprintf("avc1.%02xxx%02x", c.profile&0xff, c.level)
	case "aac":
		return fmt.Sprintf("mp4a.40.%d", c.profile+1)
	case "ac3":
		return "ac-3"
	}
	return c.codec
}

// matches compares word with a CODECS entry, skipping the xx.
func (c streamCodec) matches(entry string) bool {
	want := c.codecsWord()
	if c.codec != "h264" {
		return entry == want
	}
	return len(entry) == len(want) && entry[:7] == want[:7] && entry[9:] == want[9:]
}

// checkCodecs compares a CODECS attribute with the streams a decoder found.
func (v *abrVerifier) checkCodecs(name, codecs string, streams []streamCodec) {
	var want []string
	ok := len(streams) > 0
	for _, st := range streams {
		want = append(want, st.codecsWord())
		found := false
		for _, entry := range strings.Split(codecs, ",") {
			found = found || st.matches(entry)
		}
		ok = ok && found
	}
	v.add(name, strings.Join(want, ",")+" (decoded; xx: constraint flags)", codecs, ok)
}

// verifyEncryption decrypts the first segment of every HLS rendition with
// its key and checks that it is MPEG-TS again, and that the key files are
// private.
func (v *abrVerifier) verifyEncryption(variants []masterVariant) {
	uris := []string{}
	for _, vr := range variants {
		uris = append(uris, vr.uri)
	}
	for _, a := range v.pkg.Audio {
		uris = append(uris, packaging.HLSFolder+"/"+a.Name+"/index.m3u8")
	}
	for _, u := range uris {
		dir := filepath.Dir(filepath.Join(v.dir, filepath.FromSlash(u)))
		seg := filepath.Join(dir, "seg-00001.ts")
		data, err := os.ReadFile(seg)
		if err != nil {
			v.add("AES-128: "+u, "segment 1 decrypts", err.Error(), false)
			continue
		}
		plain, err := packaging.DecryptSegment(v.keys[0], data)
		pass := err == nil && len(plain) >= 188 && plain[0] == 0x47 && plain[188] == 0x47
		actual := "MPEG-TS after decryption"
		if err != nil {
			actual = err.Error()
		} else if !pass {
			actual = "not MPEG-TS after decryption"
		}
		if pass && bytesEqualPrefix(data, plain) {
			pass, actual = false, "the segment is not encrypted"
		}
		v.add("AES-128: "+filepath.ToSlash(filepath.Join(filepath.Dir(u), "seg-00001.ts")), "decrypts with key 1 to MPEG-TS", actual, pass)
	}
	for _, k := range v.keys {
		st, err := os.Stat(filepath.Join(v.keyDir, packaging.KeyFileName(k.Number)))
		actual := "missing"
		if err == nil {
			actual = fmt.Sprintf("%04o, %d bytes", st.Mode().Perm(), st.Size())
		}
		v.add(fmt.Sprintf("key %d file", k.Number), "0600, 16 bytes", actual, err == nil && st.Mode().Perm() == 0o600 && st.Size() == 16)
	}
}

func bytesEqualPrefix(a, b []byte) bool {
	n := min(len(a), len(b), 188)
	return n > 0 && string(a[:n]) == string(b[:n])
}

// mirror copies an HLS playlist (and, for a master, its media playlists)
// into the scratch folder with absolute segment paths and each AES-128 key
// URI pointing at a local copy of the key, so that libav can decrypt what
// players would fetch from the key server.
func (v *abrVerifier) mirror(rel string) (string, error) {
	keyPaths := map[string]string{}
	for _, k := range v.keys {
		p := filepath.Join(v.tmp, packaging.KeyFileName(k.Number))
		if err := os.WriteFile(p, k.Key[:], 0o600); err != nil {
			return "", fmt.Errorf("verifying: %w", err)
		}
		keyPaths[k.URI] = p
	}
	dst := filepath.Join(v.tmp, strings.ReplaceAll(rel, "/", "_"))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	src := filepath.Join(v.dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("verifying: %w", err)
	}
	base := filepath.Dir(rel)
	var out strings.Builder
	uriAttr := regexp.MustCompile(`URI="([^"]*)"`)
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "#EXT-X-KEY:"):
			line = uriAttr.ReplaceAllStringFunc(line, func(m string) string {
				u := uriAttr.FindStringSubmatch(m)[1]
				if p, ok := keyPaths[u]; ok {
					return `URI="` + p + `"`
				}
				return m
			})
		case strings.HasPrefix(line, "#EXT-X-MEDIA:"):
			var merr error
			line = uriAttr.ReplaceAllStringFunc(line, func(m string) string {
				p, err := v.mirror(filepath.ToSlash(filepath.Join(base, uriAttr.FindStringSubmatch(m)[1])))
				if err != nil {
					merr = err
				}
				return `URI="` + p + `"`
			})
			if merr != nil {
				return "", merr
			}
		case line != "" && !strings.HasPrefix(line, "#"):
			target := filepath.ToSlash(filepath.Join(base, line))
			if strings.HasSuffix(line, ".m3u8") {
				if line, err = v.mirror(target); err != nil {
					return "", err
				}
			} else {
				line = filepath.Join(v.dir, filepath.FromSlash(target))
			}
		}
		out.WriteString(line + "\n")
	}
	if err := os.WriteFile(dst, []byte(out.String()), 0o600); err != nil {
		return "", fmt.Errorf("verifying: %w", err)
	}
	return dst, nil
}

// masterVariant is one EXT-X-STREAM-INF of a master playlist.
type masterVariant struct {
	uri, codecs string
}

func readMasterVariants(path string) ([]masterVariant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifying: %w", err)
	}
	defer f.Close()
	var out []masterVariant
	codecsAttr := regexp.MustCompile(`CODECS="([^"]*)"`)
	pending := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			pending = ""
			if m := codecsAttr.FindStringSubmatch(line); m != nil {
				pending = m[1]
			}
			out = append(out, masterVariant{codecs: pending})
		case line != "" && !strings.HasPrefix(line, "#") && len(out) > 0 && out[len(out)-1].uri == "":
			out[len(out)-1].uri = line
		}
	}
	return out, sc.Err()
}

// readExtinf reads the segment durations of a media playlist.
func readExtinf(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("verifying: %w", err)
	}
	var durs []float64
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			num, _, _ := strings.Cut(rest, ",")
			d, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return nil, fmt.Errorf("verifying %s: EXTINF %q: %w", filepath.Base(path), rest, err)
			}
			durs = append(durs, d)
		}
	}
	return durs, nil
}

// verifyDASH opens the MPD with libav and checks each CMAF segment starts
// with a sync sample at the same time in every rung.
func (v *abrVerifier) verifyDASH() error {
	path := filepath.Join(v.dir, packaging.DASHManifestFile)
	info, err := probeWith(path, nil)
	if err != nil {
		v.add("DASH: libav opens manifest.mpd", "opens", Reason(err), false)
	} else {
		v.outputs = append(v.outputs, job.Output{Name: packaging.DASHManifestFile, Probe: info})
		v.add("DASH: libav opens manifest.mpd (video representations)", v.sortedLadder(), probedSizes(info), probedSizes(info) == v.sortedLadder())
	}
	for i, r := range v.pkg.Video {
		unsynced := 0
		for _, s := range r.CMAF.Segments() {
			frags, err := packaging.ReadFragments(filepath.Join(v.dir, packaging.CMAFFolder, r.Rung.Name, s.URI))
			if err != nil {
				return fmt.Errorf("verifying: %w", err)
			}
			if len(frags) == 0 || !frags[0].Sync {
				unsynced++
			}
		}
		v.add(fmt.Sprintf("DASH %s: every segment starts with a sync sample", r.Rung.Name), "all", fmt.Sprintf("%d without", unsynced), unsynced == 0)
		durs := make([]float64, 0, len(r.CMAF.Segments()))
		for _, s := range r.CMAF.Segments() {
			durs = append(durs, float64(s.Duration)/float64(r.CMAF.Config().Timescale))
		}
		v.checkDurations(fmt.Sprintf("DASH %s: segment durations", r.Rung.Name), durs, v.plan.ABR.Rungs[i])
	}
	// CMAF as DASH and HLS players read it: the segments after the init
	// segment, each picture at decode time plus composition offset.
	return v.checkFragmentTimelines("CMAF",
		func(i int) float64 { return float64(v.pkg.Video[i].CMAF.Config().Timescale) },
		func(i int) []string {
			r := v.pkg.Video[i]
			var files []string
			for _, s := range r.CMAF.Segments() {
				files = append(files, filepath.Join(v.dir, packaging.CMAFFolder, r.Rung.Name, s.URI))
			}
			return files
		})
}

// verifySmooth opens every .ismv and .isma with libav.
func (v *abrVerifier) verifySmooth() error {
	for _, r := range v.pkg.Video {
		info, err := Probe(filepath.Join(v.dir, packaging.SmoothFolder, r.Smooth))
		pass := err == nil && len(info.VideoStreams()) == 1 && info.VideoStreams()[0].Width == r.Rung.Width
		actual := "unreadable"
		if err == nil && len(info.VideoStreams()) == 1 {
			actual = fmt.Sprintf("%s %dx%d", info.VideoStreams()[0].Codec, info.VideoStreams()[0].Width, info.VideoStreams()[0].Height)
		}
		v.add("Smooth Streaming: "+r.Smooth, fmt.Sprintf("h264 %dx%d", r.Rung.Width, r.Rung.Height), actual, pass)
	}
	for _, a := range v.pkg.Audio {
		info, err := Probe(filepath.Join(v.dir, packaging.SmoothFolder, a.Smooth))
		pass := err == nil && len(info.AudioStreams()) == 1
		v.add("Smooth Streaming: "+a.Smooth, "one audio track", fmt.Sprintf("%d audio tracks", len(info.AudioStreams())), pass)
	}
	// Smooth's clock is 10 MHz: libav's ismv muxer and every client use it.
	dir := filepath.Join(v.dir, packaging.SmoothFolder)
	if err := v.checkFragmentTimelines("Smooth Streaming",
		func(int) float64 { return 1e7 },
		func(i int) []string { return []string{filepath.Join(dir, v.pkg.Video[i].Smooth)} }); err != nil {
		return err
	}
	// The static layout: what a client fetches from a plain HTTP server.
	var files []string
	for _, r := range v.pkg.Video {
		files = append(files, r.Smooth)
	}
	for _, a := range v.pkg.Audio {
		files = append(files, a.Smooth)
	}
	want := 0
	for _, f := range files {
		frags, err := packaging.ReadFragments(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("verifying: %w", err)
		}
		want += len(frags)
	}
	n, err := packaging.CheckStaticSmooth(dir)
	actual := fmt.Sprintf("%d fragments", n)
	if err != nil {
		actual += ", then " + err.Error()
	}
	v.add("Smooth Streaming static layout: "+packaging.SmoothStaticManifest+" URLs", fmt.Sprintf("%d fragments, one file each", want), actual, err == nil && n == want)
	return nil
}

func (v *abrVerifier) verifyThumbnails() error {
	dir := filepath.Join(v.dir, packaging.ThumbFolder)
	f, err := os.Open(filepath.Join(dir, packaging.PosterFile))
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	cfg, err := jpeg.DecodeConfig(f)
	f.Close()
	top := v.plan.ABR.Rungs[0]
	v.add("poster frame", fmt.Sprintf("JPEG %dx%d", top.Width, top.Height), fmt.Sprintf("JPEG %dx%d", cfg.Width, cfg.Height),
		err == nil && cfg.Width == top.Width && cfg.Height == top.Height)
	if every := v.plan.ABR.ThumbEvery; every > 0 {
		b, err := os.ReadFile(filepath.Join(dir, packaging.ThumbnailTrack))
		if err != nil {
			return fmt.Errorf("verifying: %w", err)
		}
		cues := strings.Count(string(b), "#xywh=")
		want := int(math.Ceil(v.pkg.Duration/every - 0.001))
		v.add("thumbnail track cues", fmt.Sprintf("%d (one per %g s)", want, every), fmt.Sprint(cues), cues == want)
	}
	return nil
}

// probeWith is Probe for manifests, with demuxer options.
func probeWith(path string, opts map[string]string) (job.MediaInfo, error) {
	fc, err := openReadable(path, opts)
	if err != nil {
		return job.MediaInfo{}, err
	}
	defer fc.Free()
	defer fc.CloseInput()
	return describeInput(fc), nil
}

// keyframeTimes reads a rendition (a media playlist) and returns where
// libav presents its first video picture and its keyframes, and what a
// decoder says about its streams.
func keyframeTimes(path string) (rungTimeline, []streamCodec, error) {
	var tl rungTimeline
	fc, err := openReadable(path, openOptions)
	if err != nil {
		return tl, nil, err
	}
	defer fc.Free()
	defer fc.CloseInput()
	video := -1
	var tb astiav.Rational
	var codecs []streamCodec
	for _, s := range fc.Streams() {
		p := s.CodecParameters()
		codecs = append(codecs, streamCodec{codec: p.CodecID().Name(), profile: int(p.Profile()), level: int(p.Level())})
		if p.MediaType() == astiav.MediaTypeVideo && video < 0 {
			video, tb = s.Index(), s.TimeBase()
		}
	}
	if video < 0 {
		return tl, codecs, nil
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	first := true
	for {
		err := fc.ReadFrame(pkt)
		if errors.Is(err, astiav.ErrEof) {
			break
		}
		if err != nil {
			return tl, codecs, fmt.Errorf("reading %s: %w", filepath.Base(path), err)
		}
		if pkt.StreamIndex() == video && pkt.Pts() != astiav.NoPtsValue {
			t := seconds(pkt.Pts(), tb)
			if first && pkt.Dts() != astiav.NoPtsValue {
				tl.decode = seconds(pkt.Dts(), tb)
			}
			if first || t < tl.first {
				tl.first, first = t, false
			}
			if pkt.Flags().Has(astiav.PacketFlagKey) {
				tl.keys = append(tl.keys, t)
			}
		}
		pkt.Unref()
	}
	sort.Float64s(tl.keys)
	return tl, codecs, nil
}

// audioPlaylist is the first audio rendition's media playlist of a master.
func (v *abrVerifier) audioPlaylist(master string) string {
	folder := packaging.HLSFolder
	if master == packaging.CMAFHLSMaster {
		folder = packaging.CMAFFolder
	}
	return folder + "/" + v.pkg.Audio[0].Name + "/index.m3u8"
}

// openPath is the path libav should open for a package playlist: its
// mirror with local keys when the package is encrypted.
func (v *abrVerifier) openPath(encrypted bool, rel string) string {
	if encrypted {
		if p, err := v.mirror(rel); err == nil {
			return p
		}
	}
	return filepath.Join(v.dir, filepath.FromSlash(rel))
}
