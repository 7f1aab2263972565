#!/bin/bash
# make demo: start kilnd with its embedded default config under ./var, drop a
# generated clip into a watch folder, show progress, and print where the
# outputs are. ./var is the demo's own state and is recreated each run.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf var
mkdir -p var/clips
export KILN_SOCKET="$PWD/var/run/kiln.sock"

clip=var/clips/newsroom-1080i25.ts
echo "==> generating a 10 s 1080i25 H.264 clip with stereo audio: $clip"
ffmpeg -hide_banner -loglevel error -y \
	-f lavfi -i "testsrc2=size=1920x1080:rate=50" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000" \
	-t 10 -vf "tinterlace=mode=interleave_top,setfield=tff" \
	-c:v libx264 -preset veryfast -flags +ildct+ilme -x264-params tff=1 -b:v 15M \
	-ac 2 -c:a aac -b:a 192k -f mpegts "$clip"

echo "==> starting kilnd (embedded default config; log in var/kilnd.log)"
bin/kilnd --embedded-config >var/kilnd.log 2>&1 &
kilnd=$!
trap 'kill $kilnd 2>/dev/null; wait $kilnd 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	bin/kiln health >/dev/null 2>&1 && break
	sleep 0.2
done
bin/kiln health

echo "==> dropping the clip into the 'demo' watch folder (var/in/demo)"
# Copy under a temporary name, then rename: the inbox never sees a partial file.
cp "$clip" var/in/demo/.newsroom.ts.part
mv var/in/demo/.newsroom.ts.part var/in/demo/newsroom.ts

echo "==> waiting for the file to settle (2 s), then the jobs run"
for _ in $(seq 100); do
	[ -n "$(bin/kiln jobs --json | tr -d '[:space:]' | sed 's/^\[\]$//')" ] && break
	sleep 0.2
done
bin/kiln watch --until-idle
echo
bin/kiln jobs

failed=$(bin/kiln jobs --state failed --json | grep -c '"id"' || true)
echo
echo "==> outputs"
find var/out -type f -not -path '*/.kiln-staging/*' | sort | while read -r f; do
	case "$f" in
	*.kiln.json) echo "  report  $f" ;;
	*) echo "  media   $f  ($(ffprobe -v error -show_entries stream=codec_name,width,height,field_order,sample_rate -of csv=p=0 "$f" | awk '!seen[$0]++' | tr '\n' ' '))" ;;
	esac
done
echo "==> source moved to: $(ls var/in/demo/done/ var/in/demo/failed/ 2>/dev/null | tr '\n' ' ')"
if [ "$failed" != "0" ]; then
	echo "demo: $failed job(s) failed; see 'bin/kiln jobs' and var/kilnd.log" >&2
	exit 1
fi
echo "demo: done. Try: KILN_SOCKET=$KILN_SOCKET bin/kiln show 1"
