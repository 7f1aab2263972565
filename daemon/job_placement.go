package daemon

import (
	"fmt"

	"kiln/api"
	"kiln/config"
	"kiln/hardware"
	"kiln/job"
)

// placeJob decides where a job runs and writes what the worker needs to
// know about that into spec: the GPU worker ("cuda") when onGPU (the probe
// h found a usable CUDA device and a GPU slot is free), with the NVENC
// sessions granted out of limit (why: its reason) less inUse, and NVDEC
// where the probe found it; else the CPU worker ("cpu"), with the reason in
// spec.BackendNote. The daemon's scheduler and `kilnd transcode` both place
// jobs here, so that a foreground job runs, and its report reads, as a
// daemon job's would.
func placeJob(spec *job.Spec, h *api.Hardware, onGPU bool, limit int, why string, inUse int) string {
	if !onGPU {
		spec.BackendNote = cpuNote(h)
		return "cpu"
	}
	spec.NVENCSessions, spec.NVENCNote = grantNVENC(spec.Profile, h, limit, why, inUse)
	// NVDEC has no session limit worth counting: its engines are shared by
	// the driver, and the worker decodes in software when it cannot open.
	spec.NVDEC = h != nil && h.NVDEC.Available
	return "cuda"
}

// cpuNote says, for a job's report, why its kernels run on the CPU when a
// user would expect the GPU: the probe's reason. "" when the probe found a
// GPU (the job is on the CPU for want of a free GPU slot, or gpu_jobs = 0).
func cpuNote(h *api.Hardware) string {
	if h == nil || h.Backend == hardware.BackendCUDA {
		return ""
	}
	reason := h.CUDA.Reason
	if reason == "" {
		reason = "no GPU found"
	}
	return "GPU backend unavailable (" + reason + "); video kernels ran on the CPU"
}

// grantNVENC decides how many NVENC sessions a GPU job with profile p gets
// on the hardware h: one per H.264/HEVC rendition (an ABR ladder has one
// per rung), as many as are still free under limit (why: its reason) when
// inUse are held. When that is fewer than its renditions, the note says
// why; the worker encodes the rest with x264 or x265, and its report names
// each one with this reason.
//
// A job keeps what it got until it ends: sessions freed meanwhile go to
// the jobs that start next, never to a running one (an encoder cannot move
// from x264 to NVENC mid-stream).
func grantNVENC(p config.Profile, h *api.Hardware, limit int, why string, inUse int) (int, string) {
	codec, want := hardware.NVENCRenditions(p)
	if want == 0 {
		return 0, ""
	}
	if h == nil {
		return 0, "NVENC unavailable (the hardware has not been probed yet)"
	}
	if a := h.NVENC[codec]; !a.Available {
		reason := a.Reason
		if reason == "" {
			reason = "the probe gave no reason"
		}
		return 0, fmt.Sprintf("NVENC unavailable for %s (%s)", codecName(codec), reason)
	}
	if limit == 0 {
		return 0, "NVENC unavailable (" + why + ")"
	}
	n := min(want, max(limit-inUse, 0))
	if n < want {
		return n, fmt.Sprintf("NVENC session limit %d reached", limit)
	}
	return n, ""
}

// codecName is how a report names a key of the probe's NVENC map.
func codecName(codec string) string {
	if codec == hardware.CodecHEVC {
		return "HEVC"
	}
	return "H.264"
}
