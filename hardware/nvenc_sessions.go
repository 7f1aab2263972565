package hardware

import (
	"strings"
	"unicode"
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
// GeForce RTX 3080"), given the configured number of concurrent GPU jobs:
// 0 on a GPU without NVENC, at most the driver's limit on a consumer card,
// and the configured number elsewhere. A negative configuration counts as 0.
func NVENCSessions(gpuName string, configured int) int {
	configured = max(configured, 0)
	words := strings.FieldsFunc(strings.ToUpper(gpuName), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		if noNVENC[w] {
			return 0
		}
	}
	for _, w := range words {
		if w == "GEFORCE" || w == "TITAN" {
			return min(configured, consumerSessions)
		}
	}
	return configured
}
