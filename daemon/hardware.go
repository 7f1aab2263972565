package daemon

import (
	"context"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/hardware"
)

// probeTimeout bounds one probe. A GPU that hangs must not hold the
// daemon's start for long; the first probe on a machine includes the
// driver's JIT of the kernels' PTX, which takes seconds.
const probeTimeout = 30 * time.Second

// probeHardware asks the GPU worker what the GPU can do (package hardware)
// and caches the answer for GET /v1/hardware: a probe starts a process, far
// too slow for every request. It runs at start and after every reload.
func (d *Daemon) probeHardware(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	h := hardwareView(hardware.Probe(ctx, d.GPUWorker))
	h.ProbedAt = time.Now().UTC()
	d.hardware.Store(&h)
	limit, why := d.nvencLimit(&h)
	d.hwLog.Info("hardware probed", "gpu_worker", d.GPUWorker, "backend", h.Backend, "gpus", len(h.GPUs),
		"cuda", h.CUDA.Available, "cuda_reason", h.CUDA.Reason, "nvdec", h.NVDEC.Available,
		"nvenc_session_limit", limit, "nvenc_session_limit_reason", why)
}

// hardwareView turns the probe's report into the API's body.
func hardwareView(r hardware.Report) api.Hardware {
	capability := func(a hardware.Availability) api.Capability {
		return api.Capability{Available: a.Available, Reason: a.Reason}
	}
	h := api.Hardware{
		Backend: r.Backend,
		CUDA:    capability(r.CUDA),
		NVDEC:   capability(r.NVDEC),
		NVENC:   map[string]api.Capability{},
		GPUs:    []api.GPU{},
	}
	for codec, a := range r.NVENC {
		h.NVENC[codec] = capability(a)
	}
	for _, g := range r.GPUs {
		h.GPUs = append(h.GPUs, api.GPU{Index: g.Index, Name: g.Name,
			ComputeCapability: g.ComputeCapability, MemoryBytes: g.MemoryBytes})
	}
	return h
}

// currentHardware is the cached probe with the live session count and the
// session limit the config makes of it now.
func (d *Daemon) currentHardware() api.Hardware {
	h := *d.hardware.Load()
	h.NVENCSessions = d.nvencSessions()
	h.NVENCSessionLimit, h.NVENCSessionLimitReason = d.nvencLimit(&h)
	return h
}

// nvencLimit is how many NVENC sessions the running jobs may hold
// together on the hardware h, and why. The GPU worker runs on GPU 0, so
// that is the GPU whose limit counts.
func (d *Daemon) nvencLimit(h *api.Hardware) (int, string) {
	return nvencLimitOn(h, d.cfg.Load().Daemon)
}

// nvencLimitOn is nvencLimit for the daemon settings cfg.
func nvencLimitOn(h *api.Hardware, cfg config.Daemon) (int, string) {
	name := ""
	if h != nil && h.Backend == hardware.BackendCUDA && len(h.GPUs) > 0 {
		name = h.GPUs[0].Name
	}
	return hardware.SessionLimit(name, cfg.NVENCSessions, cfg.GPUJobs)
}
