#!/bin/bash
# make fresh-check: proves that `make demo` and `make test` work on a stock
# Debian 12 machine, as a newcomer gets it, and not only on machines that
# happen to have the right packages already.
#
# It builds a minimal Debian 12 root with mmdebstrap (variant minbase, the
# `main` component only, plus the few packages needed to fetch and run the
# project at all: ca-certificates, git, make), copies in
#   - the Go toolchain (/usr/local/go, or wherever `go env GOROOT` is),
#   - the machine's extra CA certificates (/usr/local/share/ca-certificates),
#   - its apt settings (the apt.conf.d files that set Acquire:: proxy,
#     date-check or certificate options) and the mirrors of its apt sources,
#     with `main` only,
#   - its name resolution (/etc/resolv.conf, /etc/hosts),
#   - its proxy and certificate environment variables, and its Go and npm
#     registry settings (GOPROXY, GOFLAGS, ..., npm_config_registry),
# and nothing else. It clones this repository at the current commit (HEAD;
# uncommitted changes are not included) into the root, then runs `make demo`
# and `make test` inside it (chroot, with /proc, /sys and /dev mounted) and
# prints how long each took.
#
#   scripts/fresh-check.sh              make demo, then make test
#   STEPS=demo scripts/fresh-check.sh   only make demo
#   WORK=/var/tmp/kiln-fresh            where the root is built; it is removed
#                                       before and after each run (KEEP=1 keeps it
#                                       for a look inside)
#
# Needs root (mmdebstrap's root mode, chroot, mounts) and about 6 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-/var/tmp/kiln-fresh}
STEPS=${STEPS:-"demo test"}
SUITE=bookworm
# What a newcomer must have to run `make` on a clone at all; setup-debian.sh
# installs everything else. The install guard test (setup/) reads this line.
PREREQS="ca-certificates git make"

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-check: needs root (mmdebstrap, chroot and mounts)" >&2
	exit 1
fi
if ! command -v go >/dev/null 2>&1; then
	echo "fresh-check: the Go toolchain must be on PATH (it is copied into the root)" >&2
	exit 1
fi
scripts/setup-debian.sh fresh

root=$WORK/root
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[i]}" 2>/dev/null || true
	done
	if [ -z "${KEEP:-}" ]; then
		rm -rf --one-file-system "$WORK"
	else
		echo "fresh-check: kept $root"
	fi
}
trap cleanup EXIT
# Nothing from an earlier run is reused; an earlier run killed hard may have
# left its mounts.
if [ -e "$WORK" ]; then
	grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
	rm -rf --one-file-system "$WORK"
fi
mkdir -p "$WORK"

# The machine's mirrors, as deb lines with the main component only: a stock
# Debian 12 has no contrib or non-free (setup-debian.sh cuda adds them, as a
# user would).
mirrors() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print "deb " $i " " $(i+1) " main" }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: one stanza per blank-line-separated block.
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			types = ""; uris = ""; suites = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/) types = substr($i, 7)
				if ($i ~ /^URIs:/) uris = substr($i, 6)
				if ($i ~ /^Suites:/) suites = substr($i, 8)
			}
			if (types !~ /(^| )deb( |$)/) next
			nu = split(uris, u, " "); ns = split(suites, s, " ")
			for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print "deb " u[a] " " s[b] " main"
		}' "$f"
	done
}
mapfile -t sources < <(mirrors | grep -E " ${SUITE}(-updates|-security)? main$" | sort -u)
if [ ${#sources[@]} -eq 0 ]; then
	sources=("deb http://deb.debian.org/debian $SUITE main")
fi

# apt settings that decide how the machine reaches its mirrors (proxies,
# validity checks of snapshot mirrors, TLS): the apt.conf.d files that set
# an Acquire:: proxy, date-check or certificate option. mmdebstrap uses them
# while it builds the root and leaves them in it.
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
	[ -f "$f" ] && grep -Eqi 'Acquire::.*(Proxy|Check-Valid-Until|Check-Date|CaInfo|CaPath|Verify-Peer|Verify-Host)' "$f" && aptopts+=("--aptopt=$f")
done

# The environment inside: a clean one, plus what the machine needs to reach
# the network and the registries.
carried=(PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}")
while IFS='=' read -r name value; do
	case "$name" in
	http_proxy | https_proxy | ftp_proxy | no_proxy | all_proxy | \
		HTTP_PROXY | HTTPS_PROXY | FTP_PROXY | NO_PROXY | ALL_PROXY | \
		SSL_CERT_FILE | SSL_CERT_DIR | CURL_CA_BUNDLE | GIT_SSL_CAINFO | NODE_EXTRA_CA_CERTS | \
		REQUESTS_CA_BUNDLE | PIP_CERT | AWS_CA_BUNDLE)
		carried+=("$name=$value")
		;;
	esac
done < <(env)
goroot=$(go env GOROOT)
for v in GOPROXY GOFLAGS GONOSUMDB GONOPROXY GOPRIVATE GOSUMDB GOINSECURE GOTOOLCHAIN; do
	carried+=("$v=$(go env "$v")")
done
if command -v npm >/dev/null 2>&1; then
	carried+=("npm_config_registry=$(npm config get registry)")
fi

head=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "fresh-check: NOTE uncommitted changes are not checked; the root gets commit $head"
fi

t0=$SECONDS
echo "==> fresh-check: building a minimal Debian 12 root in $root (main only: ${sources[*]})"
mmdebstrap --quiet --mode=root --variant=minbase --components=main \
	--include="${PREREQS// /,}" "${aptopts[@]}" \
	"$SUITE" "$root" "${sources[@]}"
echo "==> fresh-check: root built in $((SECONDS - t0)) s"

# The Go toolchain, the extra CA certificates and name resolution.
mkdir -p "$root/usr/local"
cp -a "$goroot" "$root/usr/local/go"
if compgen -G '/usr/local/share/ca-certificates/*' >/dev/null; then
	cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
	chroot "$root" update-ca-certificates >/dev/null
fi
cp /etc/resolv.conf /etc/hosts "$root/etc/"

git clone --quiet --no-hardlinks "$PWD" "$root/src/kiln"
git -C "$root/src/kiln" checkout --quiet --detach "$head"
echo "==> fresh-check: cloned $head into /src/kiln"

for fs in proc sys dev; do
	mkdir -p "$root/$fs"
	case $fs in
	proc) mount -t proc proc "$root/proc" ;;
	sys) mount --rbind /sys "$root/sys" ;;
	dev) mount --rbind /dev "$root/dev" ;;
	esac
	mounted+=("$root/$fs")
done

declare -A took
for step in $STEPS; do
	echo "==> fresh-check: make $step (inside the root)"
	t=$SECONDS
	if ! chroot "$root" /usr/bin/env -i "${carried[@]}" /bin/sh -c "cd /src/kiln && make $step"; then
		echo "fresh-check: FAILED: make $step on a fresh Debian 12 root, after $((SECONDS - t)) s" >&2
		exit 1
	fi
	took[$step]=$((SECONDS - t))
	echo "==> fresh-check: make $step passed in ${took[$step]} s"
done
echo "fresh-check: passed on a fresh Debian 12 root (commit $head):"
for step in $STEPS; do
	echo "  make $step  ${took[$step]} s"
done
echo "  total       $((SECONDS - t0)) s"
