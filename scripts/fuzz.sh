#!/bin/sh
# A short pass of every fuzz target, for make test; the committed seeds under
# testdata/fuzz/ run as plain tests too.
#
# Each target runs for a fixed number of executions, not a wall-clock time:
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded" at
# the end of a -fuzztime duration with no failing input (golang/go#75804,
# fixed in Go 1.27), which would make CI red for nothing. A count has no
# deadline. FUZZSCALE=20 scripts/fuzz.sh digs twenty times deeper.
set -eu
cd "$(dirname "$0")/.."
scale=${FUZZSCALE:-1}
for target in \
	./config:FuzzParse:100000 \
	./daemon:FuzzAPIBodies:30000 \
	./daemon/intake:FuzzCheckComplete:50000 \
	./sdi:FuzzAFD:200000 \
	./packaging:FuzzTSKeyframeRanges:100000 \
	./packaging:FuzzReadFragments:100000 \
	./packaging:FuzzMediaPlaylist:50000 \
	./packaging:FuzzMasterPlaylist:50000 \
	./packaging:FuzzDASHManifest:30000 \
	./packaging:FuzzSmoothManifests:30000; do
	pkg=${target%%:*}
	rest=${target#*:}
	name=${rest%%:*}
	execs=$((${rest#*:} * scale))
	echo "fuzz: $name ($pkg, ${execs} execs)"
	go test -run XXX -fuzz "^$name\$" -fuzztime "${execs}x" "$pkg" >/tmp/kiln-fuzz.log 2>&1 || {
		cat /tmp/kiln-fuzz.log
		echo "fuzz: $name found a failure; the input is under $pkg/testdata/fuzz/$name/" >&2
		exit 1
	}
	# go test passes when no target has the name: a renamed target would
	# stop being fuzzed without a word (FuzzParseMoof became
	# FuzzReadFragments with the move to mp4ff).
	if grep -q 'no fuzz tests to fuzz' /tmp/kiln-fuzz.log; then
		echo "fuzz: $pkg has no fuzz target $name; fix the list in scripts/fuzz.sh" >&2
		exit 1
	fi
done
echo "fuzz: all targets clean"
