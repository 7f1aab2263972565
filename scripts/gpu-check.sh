#!/bin/sh
# gpu-check.sh: checks and measures Kiln's GPU backend on a machine WITH an
# NVIDIA GPU (make gpu-check). On a machine without one it stops at the
# probe and says so; scripts/cuda-check.sh is the check for those.
#
# Needs the NVIDIA driver (nvidia-smi works) and the packages of
# `scripts/setup-debian.sh cuda`, which this script installs if missing.
#
#   make gpu-check
#   scripts/gpu-check.sh [OUTDIR]      default bench/results/gpu-check-<UTC date>
#
# It builds bin/kiln-gpu-worker (-tags cuda), then runs
#   kiln-gpu-worker probe     devices, CUDA, NVENC and NVDEC  -> probe.json
#   kiln-gpu-worker parity    every kernel, CPU against GPU, bit-exact -> parity.json
#   kiln-gpu-worker bench     Mpix/s per operation on the GPU -> bench.json
#   go test -run XXX -bench . ./kernels/   the CPU figures   -> cpu-bench.txt
# and writes README.md there: which GPU, driver and commit were measured,
# the parity verdict per kernel, and GPU and CPU Mpix/s side by side.
# It fails when the probe finds no GPU or a parity case fails (the bench
# still runs after a parity failure, so the report is complete).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out=${1:-bench/results/gpu-check-$stamp}
mkdir -p "$out"

scripts/setup-debian.sh cuda
mkdir -p bin
$GO build -tags cuda -o bin/kiln-gpu-worker ./cmd/kiln-gpu-worker

{
	echo "date: $stamp"
	echo "commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "host: $(uname -srm), $(nproc) CPUs"
	echo "go: $($GO version)"
	if command -v nvidia-smi >/dev/null 2>&1; then
		nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total,clocks.max.sm --format=csv 2>&1 || true
	else
		echo "nvidia-smi: not installed"
	fi
} >"$out/env.txt"

echo "gpu-check: probe"
if ! bin/kiln-gpu-worker probe >"$out/probe.json" 2>"$out/probe.err"; then
	echo "gpu-check: the GPU worker cannot start here: $(cat "$out/probe.json" "$out/probe.err" | tail -1)" >&2
	echo "gpu-check: no GPU, nothing to measure (scripts/cuda-check.sh checks machines without one)" >&2
	exit 1
fi
cat "$out/probe.json"

echo "gpu-check: parity (CPU against GPU, bit-exact)"
parity=pass
bin/kiln-gpu-worker parity >"$out/parity.json" 2>"$out/parity.err" || parity=FAIL
echo "gpu-check: parity $parity"

echo "gpu-check: GPU bench"
bin/kiln-gpu-worker bench >"$out/bench.json"

echo "gpu-check: CPU bench (go test -bench, kernels/)"
$GO test -run XXX -bench . -count 1 ./kernels/ >"$out/cpu-bench.txt"

# The JSON is the worker's, indented one field per line, so awk can read it.
field() { # file key: the first value of "key"
	sed -n "s/^ *\"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -1
}
{
	echo "# GPU check $stamp"
	echo
	echo "Measured on **$(field "$out/probe.json" name)** (compute capability $(field "$out/probe.json" compute_capability), $(field "$out/probe.json" memory_bytes) bytes), driver CUDA $(field "$out/probe.json" driver_cuda)."
	echo "Produced by \`scripts/gpu-check.sh\`; the raw data sits next to this file."
	echo
	echo '```'
	cat "$out/env.txt"
	echo '```'
	echo
	echo "## Probe"
	echo
	echo '```json'
	cat "$out/probe.json"
	echo '```'
	echo
	echo "## Parity: $parity"
	echo
	echo "Every kernel on the CPU backend and on the GPU, same inputs, compared bit for bit (parity.json has each case and any first mismatch)."
	echo
	echo "| kernel | cases | result |"
	echo "|---|---|---|"
	awk '
		/"kernels": \[/ { in_k = 1 }
		/"cases": \[/ { in_k = 0 }
		in_k && /"kernel":/ { gsub(/[",]/, "", $2); k = $2 }
		in_k && /"pass":/ { gsub(/,/, "", $2); p = ($2 == "true") ? "pass" : "**FAIL**" }
		in_k && /"cases":/ { gsub(/,/, "", $2); printf "| %s | %s | %s |\n", k, $2, p }
	' "$out/parity.json"
	echo
	echo "## Throughput"
	echo
	echo "Output megapixels (luma) per second, 8-bit 4:2:0. GPU: images already on the device, timed to the end of the device's work (bench.json). CPU: \`go test -bench\` in kernels/ on this machine's CPUs (cpu-bench.txt)."
	echo
	echo "| operation | GPU Mpix/s | CPU Mpix/s |"
	echo "|---|---|---|"
	awk '
		FNR == NR {
			if ($1 ~ /^Benchmark/) {
				name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
				for (i = 2; i <= NF; i++) if ($i == "Mpix/s") cpu[name] = $(i-1)
			}
			next
		}
		/"name":/ { n = $2; gsub(/[",]/, "", n) }
		/"mpix_per_s":/ {
			v = $2; gsub(/,/, "", v)
			c = (n in cpu) ? cpu[n] : "-"
			printf "| %s | %.0f | %s |\n", n, v, c
		}
	' "$out/cpu-bench.txt" "$out/bench.json"
} >"$out/README.md"

echo "gpu-check: report in $out/README.md"
[ "$parity" = pass ] || { echo "gpu-check: parity failed, see $out/parity.json" >&2; exit 1; }
