#!/bin/sh
# gen_ptx.sh [OUTDIR]: compile every kernel source cuda/*.cu to PTX with
# clang-14 (no CUDA SDK needed). The result is committed in ptx/ and embedded
# in the Go package; TestPTXFresh runs this script into a temporary folder and
# compares. The flags are part of the output, so change them only here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/ptx}
clang=${CLANG:-clang-14}
if ! command -v "$clang" >/dev/null 2>&1; then
	echo "gen_ptx.sh: $clang not found; install it (make setup installs clang-14)" >&2
	exit 1
fi
mkdir -p "$out"
for src in "$here"/cuda/*.cu; do
	name=$(basename "$src" .cu)
	"$clang" -x cuda --cuda-device-only -nocudainc -nocudalib \
		--cuda-gpu-arch=sm_75 -O3 -S -o "$out/$name.ptx" "$src"
done
