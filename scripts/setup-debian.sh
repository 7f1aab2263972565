#!/bin/sh
# Installs what Kiln needs to build and test on Debian 12, and nothing that is
# already there. Safe to run again: with everything present it only checks.
#
#   scripts/setup-debian.sh          build and test dependencies
#   scripts/setup-debian.sh cuda     also the CUDA headers, libcuda and ptxas
#                                    (Debian's non-free component)
set -eu

# systemd: systemd-analyze, -sysusers and -tmpfiles check the units in systemd/.
# postgresql: the fleet tests start a private PostgreSQL server of their own
# (the package's cluster service is not used).
# gstreamer1.0-*: the conformance matrix decodes every output with GStreamer
# too (libmpeg2 from -ugly, libde265 and the MPEG-TS/MXF demuxers from -bad).
want="libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswscale-dev
libswresample-dev pkg-config gcc clang-14 ffmpeg mediainfo systemd chromium openssl procps
postgresql
gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
gstreamer1.0-plugins-ugly gstreamer1.0-libav"
# The ABR browser test installs hls.js and dash.js with npm. Machines that
# already have Node.js (from another source) keep theirs.
if ! command -v npm >/dev/null 2>&1; then
	want="$want npm"
fi
if [ "${1:-}" = "cuda" ]; then
	want="$want nvidia-cuda-dev libcuda1 nvidia-cuda-toolkit"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "setup: Debian packages present"
	exit 0
fi

# Root runs apt directly; anyone else goes through sudo.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "setup: missing packages:$missing" >&2
		echo "setup: run as root, or install sudo" >&2
		exit 1
	fi
	SUDO="sudo"
fi

if [ "${1:-}" = "cuda" ]; then
	# The CUDA packages live in non-free, and libcuda1 depends on
	# nvidia-support from contrib: add both to the Components of the deb822
	# sources (Debian 12's default layout) or to sources.list. The sed
	# matches whole words, so Debian 12's stock non-free-firmware does not
	# count as non-free.
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
		[ -f "$f" ] || continue
		for comp in contrib non-free; do
			if grep -q '^Components:' "$f"; then
				$SUDO sed -i "/^Components:/ { / $comp\( \|\$\)/! s/\$/ $comp/ }" "$f"
			else
				$SUDO sed -i -E "/^deb / { / $comp( |\$)/! s/\$/ $comp/ }" "$f"
			fi
		done
	done
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
