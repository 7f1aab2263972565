#!/bin/sh
# cuda-check.sh: proves the CUDA side of Kiln on a machine without a GPU,
# as CI has it (make test calls it). It
#   1. installs the CUDA headers, libcuda and ptxas if missing
#      (scripts/setup-debian.sh cuda);
#   2. builds bin/kiln-gpu-worker with -tags cuda against the real libcuda:
#      compile and link must succeed, or the script fails; then runs the
#      pipeline's GPU-codec tests in the cuda build (fallbacks without a GPU);
#   3. runs `kiln-gpu-worker probe`: without a GPU the worker must stop at
#      once with cu's no-device message (which the daemon turns into the
#      CPU fallback) and the script goes on; with a GPU it prints the probe;
#      anything else (a crash, a missing library) fails;
#   4. assembles every embedded PTX module (kernels/ptx/*.ptx) with ptxas for
#      sm_75, sm_80, sm_86, sm_89 and sm_90, prints registers and spills per
#      kernel, and fails on any error or on any spill.
#
#   scripts/cuda-check.sh          (from the repository root or anywhere)
#
# Runs in well under a minute once the packages are installed.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
ARCHS=${ARCHS:-"sm_75 sm_80 sm_86 sm_89 sm_90"}

scripts/setup-debian.sh cuda

echo "cuda-check: building bin/kiln-gpu-worker with -tags cuda"
mkdir -p bin
$GO vet -tags cuda ./gpu/ ./cmd/kiln-gpu-worker/
$GO build -tags cuda -o bin/kiln-gpu-worker ./cmd/kiln-gpu-worker
# The pipeline's cuda build (CUDA frames for NVENC, NVDEC) as far as it
# runs without a GPU: it must fail over to system memory and software.
$GO test -tags cuda -count=1 -run 'TestCUDAFrames|TestNVENC|TestNVDEC' ./pipeline/

echo "cuda-check: running kiln-gpu-worker probe"
out=$(mktemp)
trap 'rm -rf "$out" "${tmp:-}"' EXIT
set +e
bin/kiln-gpu-worker probe >"$out" 2>&1
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
	echo "cuda-check: a GPU is present; probe:"
	cat "$out"
elif grep -q 'for details on: ' "$out"; then
	# gorgonia.org/cu's init: cuInit failed, the process exits 1.
	echo "cuda-check: no GPU here, as expected (exit $rc): $(sed -n 's/.*for details on: //p' "$out" | tail -1)"
	echo "cuda-check: the daemon reports backend cpu with reason 'no CUDA device: ...'"
else
	echo "cuda-check: kiln-gpu-worker probe failed unexpectedly (exit $rc):" >&2
	cat "$out" >&2
	exit 1
fi

echo "cuda-check: assembling the embedded PTX with $(ptxas --version | tail -1)"
tmp=$(mktemp -d)
# ptxas rejects a PTX ISA newer than it knows ("Unsupported .version 8.0;
# current version is '7.8'"). clang-14 emits ISA 6.3 for sm_75 today, which
# CUDA 11.8 reads; should a newer clang emit more, the module is assembled
# from a copy declaring the newest ISA this ptxas supports (the instructions
# clang uses for sm_75 all exist there), and the script says so.
assemble() { # ptx arch
	if ptxas -arch="$2" -v -o /dev/null "$1" >"$tmp/log" 2>&1; then
		cat "$tmp/log"
		return 0
	fi
	have=$(sed -n "s/.*current version is '\([0-9.]*\)'.*/\1/p" "$tmp/log" | head -1)
	if [ -n "$have" ] && grep -q 'Unsupported .version' "$tmp/log"; then
		echo "cuda-check: NOTE $(basename "$1"): $(grep -m1 'Unsupported .version' "$tmp/log"); assembling a copy declaring .version $have" >&2
		sed "s/^\.version .*/.version $have/" "$1" >"$tmp/copy.ptx"
		ptxas -arch="$2" -v -o /dev/null "$tmp/copy.ptx" 2>&1
		return $?
	fi
	cat "$tmp/log" >&2
	return 1
}

failed=0
: >"$tmp/all"
for arch in $ARCHS; do
	for ptx in kernels/ptx/*.ptx; do
		if ! assemble "$ptx" "$arch" >>"$tmp/all"; then
			echo "cuda-check: ptxas failed on $ptx for $arch" >&2
			failed=1
		fi
	done
done
[ "$failed" -eq 0 ] || exit 1

# One line per kernel and architecture, from ptxas -v's three lines:
#   Compiling entry function 'NAME' for 'ARCH'
#   N bytes stack frame, N bytes spill stores, N bytes spill loads
#   Used N registers, ...
awk '
	/Compiling entry function/ { split($0, q, "\047"); name = q[2]; arch = q[4] }
	/bytes stack frame/ { stack = $1; stores = $(NF-7); loads = $(NF-3) }
	/Used [0-9]+ registers/ {
		for (i = 1; i <= NF; i++) if ($i == "Used") regs = $(i+1)
		printf "%-6s %-20s %4d regs  %4d B stack  %4d B spill stores  %4d B spill loads\n", arch, name, regs, stack, stores, loads
		n++
		if (stores + loads > 0) bad++
	}
	END {
		if (n == 0) { print "cuda-check: ptxas reported no kernels" > "/dev/stderr"; exit 1 }
		if (bad > 0) { printf "cuda-check: %d kernel builds spill registers\n", bad > "/dev/stderr"; exit 1 }
		printf "cuda-check: %d kernel builds, no spills\n", n
	}
' "$tmp/all"
echo "cuda-check: ok"
