package hardware

import (
	"fmt"
	"strings"
	"unicode"

	"kiln/config"
)

// NVENC session limits by GPU family. NVIDIA's driver, not the silicon,
// limits consumer cards: a GeForce (and TITAN) driver refuses more than a
// few concurrent encode sessions per system. NVIDIA raised that limit over
// the years (2, then 3 in 2020, 5 in 2023, 8 from early 2024 drivers); the
// table holds the current figure. On an older driver the sessions beyond
// its limit fail to open at once, and the pipeline falls back to x264 for
// those renditions, so a high guess costs a retry, not a job.
//
// Professional and data-centre cards with NVENC (Quadro, RTX A/Ada
// workstation cards, T4, L4, L40, A10, A16, A40) have no driver limit: the
// encoder engines and memory bound them, so the configured number stands.
//
// Some data-centre GPUs have no NVENC engine at all: A100, A30 and their
// export variants, H100, H200, H800, H20 and GH200 (they keep NVDEC). On
// them every rendition encodes with x264.
const consumerSessions = 8

// noNVENC lists model tokens of GPUs without an NVENC engine, matched
// against whole words of the device name ("NVIDIA A100-SXM4-80GB" has the
// word "A100"), so that "RTX A3000" is not taken for an A30.
var noNVENC = map[string]bool{
	"A100": true, "A800": true, "A30": true,
	"H100": true, "H800": true, "H200": true, "H20": true, "GH200": true,
}

// NVENCSessions returns how many NVENC encode sessions Kiln should run at
// once on the GPU named gpuName (as the driver reports it, e.g. "NVIDIA
// GeForce RTX 3080"), given the configured number: 0 on a GPU without
// NVENC, at most the driver's limit on a consumer card, and the configured
// number elsewhere. A negative configuration counts as 0.
func NVENCSessions(gpuName string, configured int) int {
	configured = max(configured, 0)
	switch {
	case !hasNVENC(gpuName):
		return 0
	case isConsumer(gpuName):
		return min(configured, consumerSessions)
	}
	return configured
}

// SessionLimit is how many NVENC sessions Kiln's jobs may hold at once, and
// why that many, in words for GET /v1/hardware. gpuName is GPU 0's, the one
// the GPU worker runs on ("" when the probe found none); configured is
// [daemon] nvenc_sessions, where 0 takes the probed default; gpuJobs is
// [daemon] gpu_jobs.
//
// The default on a card without a driver limit lets every GPU job encode
// a whole ABR ladder on NVENC: gpu_jobs × the ladder's rungs.
func SessionLimit(gpuName string, configured, gpuJobs int) (int, string) {
	switch {
	case gpuName == "":
		return 0, "no GPU found"
	case !hasNVENC(gpuName):
		return 0, gpuName + " has no NVENC engine (A100, H100 and H200 class GPUs have none): every rendition encodes with x264"
	case isConsumer(gpuName) && configured > consumerSessions:
		return consumerSessions, fmt.Sprintf("the GeForce driver's limit of %d (nvenc_sessions = %d asks for more)", consumerSessions, configured)
	case configured > 0:
		return configured, fmt.Sprintf("nvenc_sessions = %d", configured)
	case isConsumer(gpuName):
		return consumerSessions, fmt.Sprintf("the GeForce driver's limit of %d", consumerSessions)
	}
	n := max(gpuJobs, 0) * ABRRungs
	return n, fmt.Sprintf("no driver limit on %s: gpu_jobs (%d) × %d ABR rungs", gpuName, gpuJobs, ABRRungs)
}

// nameWords splits a device name into upper-case words of letters and
// digits: "NVIDIA A100-SXM4-80GB" has the word "A100".
func nameWords(gpuName string) []string {
	return strings.FieldsFunc(strings.ToUpper(gpuName), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// hasNVENC reports whether the GPU named gpuName has an NVENC engine.
func hasNVENC(gpuName string) bool {
	for _, w := range nameWords(gpuName) {
		if noNVENC[w] {
			return false
		}
	}
	return true
}

// isConsumer reports whether gpuName is a GeForce or TITAN card, whose
// driver limits concurrent encode sessions per system.
func isConsumer(gpuName string) bool {
	for _, w := range nameWords(gpuName) {
		if w == "GEFORCE" || w == "TITAN" {
			return true
		}
	}
	return false
}

// ABRRungs is how many renditions an ABR job encodes: packaging.Ladder
// always makes one per step of its ladder, whatever the source's size (a
// test holds the two together). It is not read from package packaging,
// which needs os/user and with it cgo, which this package must not link.
const ABRRungs = 4

// NVENCRenditions is how many renditions of a job with profile p NVENC
// could encode, and their codec (a key of Report.NVENC): one per ABR rung
// (H.264), one for an H.264 or HEVC file, none otherwise.
//
// Broadcast profiles count none: every SD broadcast standard is
// interlaced, NVENC cannot code fields on Turing and later GPUs, and a
// session held by a job that cannot use it is one an ABR rung waits for.
// (The daemon does not see the source: an HEVC file of a 10-bit source,
// which encodes with x265, holds its session unused until it ends.)
func NVENCRenditions(p config.Profile) (codec string, n int) {
	switch {
	case p.Kind == "abr":
		return CodecH264, ABRRungs
	case p.Kind == "file" && p.Codec == "h264":
		return CodecH264, 1
	case p.Kind == "file" && p.Codec == "hevc":
		return CodecHEVC, 1
	}
	return "", 0
}
