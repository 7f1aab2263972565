#!/bin/sh
# A short pass of every fuzz target, for make test; the committed seeds under
# testdata/fuzz/ run as plain tests too. FUZZTIME=5m scripts/fuzz.sh digs deeper.
set -eu
cd "$(dirname "$0")/.."
t=${FUZZTIME:-8s}
for target in \
	./config:FuzzParse \
	./daemon:FuzzAPIBodies \
	./daemon/intake:FuzzCheckComplete \
	./sdi:FuzzAFD \
	./packaging:FuzzTSKeyframeRanges \
	./packaging:FuzzParseMoof; do
	pkg=${target%%:*}
	name=${target#*:}
	echo "fuzz: $name ($pkg, $t)"
	go test -run XXX -fuzz "^$name\$" -fuzztime "$t" "$pkg" >/tmp/kiln-fuzz.log 2>&1 || {
		cat /tmp/kiln-fuzz.log
		echo "fuzz: $name found a failure; the input is under $pkg/testdata/fuzz/$name/" >&2
		exit 1
	}
done
echo "fuzz: all targets clean"
