package e2e

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/job"
)

// picture is one decoded picture: its presentation time and whether it is
// a key picture (an IDR for H.264).
type picture struct {
	pts float64
	key bool
}

// ffmpegPictures decodes a file's first video stream with libavcodec
// (ffprobe) and lists its pictures in output order. Any message libav
// prints at error level counts as a decoding error.
func ffmpegPictures(path string) ([]picture, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=best_effort_timestamp_time,key_frame", "-of", "compact=p=0", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ffprobe: %v: %s", err, firstLines(stderr.String(), 3))
	}
	var pics []picture
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if line == "" {
			continue
		}
		var p picture
		for _, kv := range strings.Split(line, "|") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "key_frame":
				p.key = v == "1"
			case "best_effort_timestamp_time":
				p.pts, _ = strconv.ParseFloat(v, 64)
			}
		}
		pics = append(pics, p)
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		return pics, fmt.Errorf("decoding errors after %d pictures: %s", len(pics), firstLines(s, 3))
	}
	return pics, nil
}

// gstEnv has GStreamer prefer decoders that share no code with libavcodec
// where Debian has them: libmpeg2 for MPEG-2 and libde265 for HEVC.
// H.264, ProRes and FFV1 go through gst-libav, behind GStreamer's own
// demuxers and parsers (OpenH264 decodes neither interlaced coding nor
// 4:2:2).
var gstEnv = append(os.Environ(), "GST_PLUGIN_FEATURE_RANK=mpeg2dec:MAX,libde265dec:MAX")

var gstChainRE = regexp.MustCompile(`last-message = chain .*?pts: (\d+):(\d+):(\d+)\.(\d+).*?flags: [0-9a-f]+ ([^,]*),`)

// gstBuffers runs a gst-launch pipeline that ends in a verbose fakesink
// and lists the buffers the sink received.
func gstBuffers(pipeline string) ([]picture, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gst-launch-1.0", append([]string{"-v"}, strings.Fields(pipeline)...)...)
	cmd.Env = gstEnv
	out, err := cmd.CombinedOutput()
	var pics []picture
	for _, m := range gstChainRE.FindAllSubmatch(out, -1) {
		h, _ := strconv.Atoi(string(m[1]))
		mi, _ := strconv.Atoi(string(m[2]))
		s, _ := strconv.Atoi(string(m[3]))
		ns, _ := strconv.Atoi(string(m[4]))
		pics = append(pics, picture{pts: float64(h*3600+mi*60+s) + float64(ns)/1e9, key: !bytes.Contains(m[5], []byte("delta-unit"))})
	}
	if err != nil || bytes.Contains(out, []byte("\nERROR")) {
		var errs []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "ERROR") || strings.HasPrefix(l, "Additional debug info") || strings.HasPrefix(l, "WARNING") {
				errs = append(errs, l)
			}
		}
		return pics, fmt.Errorf("gst-launch-1.0: %v: %s", err, strings.Join(errs, " "))
	}
	return pics, nil
}

// gstPictures decodes a file's video with GStreamer's decodebin.
func gstPictures(path string) ([]picture, error) {
	if strings.ContainsAny(path, " !\"'") {
		return nil, fmt.Errorf("path %q cannot go on a gst-launch line", path)
	}
	return gstBuffers("filesrc location=" + path + " ! decodebin ! video/x-raw ! fakesink silent=false")
}

// gstKeyTimes lists the presentation times of the H.264 key pictures as
// GStreamer's demuxer and parser put them out.
func gstKeyTimes(path string) ([]float64, error) {
	pics, err := gstBuffers("filesrc location=" + path + " ! parsebin ! video/x-h264 ! fakesink silent=false")
	var keys []float64
	for _, p := range pics {
		if p.key {
			keys = append(keys, p.pts)
		}
	}
	return keys, err
}

func keyTimes(pics []picture) []float64 {
	var keys []float64
	for _, p := range pics {
		if p.key {
			keys = append(keys, p.pts)
		}
	}
	return keys
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("(%d more lines)", len(lines)-n))
	}
	return strings.Join(lines, " | ")
}

// rungTimeline is one rung of one format as a decoder reads it.
type rungTimeline struct {
	rung  string
	first float64   // first presentation time
	keys  []float64 // IDR presentation times
}

// checkABRTimelines rebuilds every rung of every format of a package as one
// file (HLS-TS: the segments, decrypted; CMAF: init and segments; Smooth:
// the .ismv), decodes each with libavcodec and GStreamer, compares the
// picture counts with the plan, and checks that every rung of a format has
// the same first presentation time and IDRs at the same times, in each
// decoder.
func checkABRTimelines(t *testing.T, s matrixSource, report job.Report, dir string) []string {
	t.Helper()
	if report.ABR.Package == "tar" {
		pkg := t.TempDir()
		tars, _ := filepath.Glob(filepath.Join(dir, "*.tar"))
		if len(tars) != 1 {
			return []string{fmt.Sprintf("package tar: %d tar files in %s", len(tars), dir)}
		}
		if b, err := exec.Command("tar", "-xf", tars[0], "-C", pkg).CombinedOutput(); err != nil {
			return []string{fmt.Sprintf("tar -xf: %v: %s", err, b)}
		}
		dir = pkg
	}
	keys, err := abrKeys(report)
	if err != nil {
		return []string{err.Error()}
	}
	work := t.TempDir()
	var problems []string
	formats := []struct{ name, folder string }{{"HLS-TS", "hls"}, {"CMAF", "cmaf"}, {"Smooth", "smooth"}}
	for _, f := range formats {
		if _, err := os.Stat(filepath.Join(dir, f.folder)); err != nil {
			continue
		}
		var ffRungs, gstRungs []rungTimeline
		for _, r := range report.ABR.Ladder {
			file, err := abrRungFile(dir, f.folder, r.Name, keys, work)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s %s: %v", f.name, r.Name, err))
				continue
			}
			label := f.name + " " + r.Name
			want := s.seconds() * rateOf(r.FrameRate)
			ff, err := ffmpegPictures(file)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: libavcodec: %v", label, err))
			}
			gst, err := gstPictures(file)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: GStreamer: %v", label, err))
			}
			gstKeys, err := gstKeyTimes(file)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: GStreamer parser: %v", label, err))
			}
			if len(ff) != len(gst) {
				problems = append(problems, fmt.Sprintf("%s: libavcodec decodes %d pictures, GStreamer %d", label, len(ff), len(gst)))
			}
			if math.Abs(float64(len(ff))-want) > 1 {
				problems = append(problems, fmt.Sprintf("%s: %d pictures, the plan %.0f (%.3f s at %s)", label, len(ff), want, s.seconds(), r.FrameRate))
			}
			if len(ff) > 0 {
				ffRungs = append(ffRungs, rungTimeline{r.Name, ff[0].pts, keyTimes(ff)})
			}
			if len(gst) > 0 {
				gstRungs = append(gstRungs, rungTimeline{r.Name, gst[0].pts, gstKeys})
			}
		}
		problems = append(problems, sameTimeline(f.name, "libavformat", ffRungs)...)
		problems = append(problems, sameTimeline(f.name, "GStreamer", gstRungs)...)
	}
	return problems
}

// sameTimeline: every rung starts at the first rung's time and has its
// IDRs at the same times (to the millisecond; the rungs share one rate).
func sameTimeline(format, decoder string, rungs []rungTimeline) []string {
	var problems []string
	const tol = 0.001
	for _, r := range rungs[min(1, len(rungs)):] {
		ref := rungs[0]
		if math.Abs(r.first-ref.first) > tol {
			problems = append(problems, fmt.Sprintf("%s timeline in %s: %s starts at %.3f s, %s at %.3f s", format, decoder, r.rung, r.first, ref.rung, ref.first))
		}
		same := len(r.keys) == len(ref.keys)
		for i := 0; same && i < len(r.keys); i++ {
			same = math.Abs(r.keys[i]-ref.keys[i]) <= tol
		}
		if !same {
			problems = append(problems, fmt.Sprintf("%s timeline in %s: IDRs of %s at %s, of %s at %s", format, decoder, r.rung, secondsList(r.keys), ref.rung, secondsList(ref.keys)))
		}
	}
	return problems
}

func secondsList(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.3f", x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// abrKeys maps each key URI of an AES-128 package to its key, read from
// the key folder the report names.
func abrKeys(report job.Report) (map[string][]byte, error) {
	keys := map[string][]byte{}
	if report.ABR.Encryption == nil {
		return keys, nil
	}
	for _, k := range report.ABR.Encryption.Keys {
		b, err := os.ReadFile(filepath.Join(report.ABR.Encryption.KeyFolder, k.File))
		if err != nil {
			return nil, fmt.Errorf("key %d: %v", k.Number, err)
		}
		keys[k.URI] = b
	}
	return keys, nil
}

var extKeyRE = regexp.MustCompile(`^#EXT-X-KEY:METHOD=([A-Z0-9-]+)(?:,URI="([^"]*)")?(?:,IV=0x([0-9A-Fa-f]{32}))?`)

// abrRungFile makes one file of a rung of one format, as a player would
// read it in sequence.
func abrRungFile(dir, folder, rung string, keys map[string][]byte, work string) (string, error) {
	if folder == "smooth" {
		return filepath.Join(dir, "smooth", rung+".ismv"), nil
	}
	playlist, err := os.ReadFile(filepath.Join(dir, folder, rung, "index.m3u8"))
	if err != nil {
		return "", err
	}
	var whole bytes.Buffer
	var key, iv []byte
	for _, line := range strings.Split(string(playlist), "\n") {
		line = strings.TrimSpace(line)
		if m := extKeyRE.FindStringSubmatch(line); m != nil {
			key, iv = nil, nil
			if m[1] == "AES-128" {
				if key = keys[m[2]]; key == nil {
					return "", fmt.Errorf("playlist names key %s, which the report does not list", m[2])
				}
				if iv, err = hex.DecodeString(m[3]); err != nil || len(iv) != 16 {
					return "", fmt.Errorf("EXT-X-KEY without a 16-byte IV: %s", line)
				}
			}
			continue
		}
		var name string
		if rest, ok := strings.CutPrefix(line, `#EXT-X-MAP:URI="`); ok {
			name, _, _ = strings.Cut(rest, `"`)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			name = line
		} else {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, folder, rung, name))
		if err != nil {
			return "", err
		}
		if key != nil {
			if b, err = decryptAES128(b, key, iv); err != nil {
				return "", fmt.Errorf("%s: %v", name, err)
			}
		}
		whole.Write(b)
	}
	ext := ".ts"
	if folder == "cmaf" {
		ext = ".mp4"
	}
	path := filepath.Join(work, folder+"-"+rung+ext)
	return path, os.WriteFile(path, whole.Bytes(), 0o644)
}

// decryptAES128 undoes HLS's AES-128: CBC with PKCS#7 padding.
func decryptAES128(b, key, iv []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%d bytes is not whole AES blocks", len(b))
	}
	out := make([]byte, len(b))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, b)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, fmt.Errorf("bad PKCS#7 padding after decryption (wrong key or IV?)")
	}
	return out[:len(out)-pad], nil
}
