// Package gpu is Kiln's CUDA runtime: device enumeration, one CUDA context
// per worker, the embedded PTX of kernels/ loaded (and JIT-compiled by the
// driver) into it, a device memory pool and pinned staging buffers reused
// across frames, a copy stream and a compute stream ordered by events so
// that uploads, kernels and downloads overlap, and a kernels.Backend that
// launches every kernel with the CPU backend's grid, block and parameters.
//
// Only cu_driver.go touches the driver, behind the cuda build tag, because
// gorgonia.org/cu calls cuInit in its package init and exits the process
// when no device is present: only the separate GPU worker binary
// (cmd/kiln-gpu-worker, built with -tags cuda) may link it. The backend
// itself is written against a small driver interface and builds without
// the tag, so that its tests run it on an emulated device (kernels' host
// build behind adversarially ordered streams) on machines without a GPU;
// without the tag, Open and NewBackend only say that the build has no CUDA.
//
// The package's room is device memory, streams and launches. It must not
// touch libav (pipeline/ owns codecs and NVENC/NVDEC sessions) or the
// daemon, and it must not change what the kernels compute: kernel sources,
// their PTX and the plans' tables belong to kernels/, and this package only
// moves them to the device.
package gpu
