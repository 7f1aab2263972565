#!/bin/sh
# Installs Kiln into the usual places; `make install` runs it after
# `make build`.
#
#   PREFIX      where programs go: $PREFIX/bin, and the systemd files under
#               $PREFIX/lib (default /usr/local; a package uses /usr)
#   DESTDIR     staging root for packaging; nothing outside it is touched
#   SYSCONFDIR  where kiln/kiln.toml goes (default /etc)
#   BIN         the built programs (default ./bin), and the man pages and
#               completions `make man` wrote into $BIN/man and $BIN/completions
#   UNITDIR, SYSUSERSDIR, TMPFILESDIR  override the systemd folders
#
# An existing $SYSCONFDIR/kiln/kiln.toml is never replaced; the example is
# always at $PREFIX/share/kiln/kiln.toml.example for comparison.
#
# Installing for real (no DESTDIR, as root, on a running systemd), it also
# creates the kiln user and folders and reloads systemd, but enables and
# starts nothing.
set -eu
cd "$(dirname "$0")/.."

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
BIN=${BIN:-bin}
bindir=$PREFIX/bin
libdir=$PREFIX/lib
UNITDIR=${UNITDIR:-$libdir/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$libdir/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$libdir/tmpfiles.d}
sharedir=$PREFIX/share/kiln
confdir=$SYSCONFDIR/kiln

for p in kilnd kiln-worker kiln; do
	if [ ! -x "$BIN/$p" ]; then
		echo "install: $BIN/$p is missing; run make build first" >&2
		exit 1
	fi
done

install -d "$DESTDIR$bindir" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" \
	"$DESTDIR$TMPFILESDIR" "$DESTDIR$sharedir" "$DESTDIR$confdir"

# kilnd starts kiln-worker from its own folder, one per job.
install -m 0755 "$BIN/kilnd" "$BIN/kiln-worker" "$BIN/kiln" "$DESTDIR$bindir/"
# The GPU worker exists after `make cuda`; kilnd looks for it next to itself.
if [ -x "$BIN/kiln-gpu-worker" ]; then
	install -m 0755 "$BIN/kiln-gpu-worker" "$DESTDIR$bindir/"
fi

# Man pages and shell completions, written by `make man` (scripts/gen-docs.sh)
# from the commands themselves.
if [ -d "$BIN/man/man1" ]; then
	mandir=$PREFIX/share/man/man1
	install -d "$DESTDIR$mandir"
	install -m 0644 "$BIN"/man/man1/*.1 "$DESTDIR$mandir/"
fi
if [ -d "$BIN/completions" ]; then
	bashdir=$PREFIX/share/bash-completion/completions
	zshdir=$PREFIX/share/zsh/site-functions
	fishdir=$PREFIX/share/fish/vendor_completions.d
	install -d "$DESTDIR$bashdir" "$DESTDIR$zshdir" "$DESTDIR$fishdir"
	install -m 0644 "$BIN/completions/bash/kiln" "$BIN/completions/bash/kilnd" "$DESTDIR$bashdir/"
	install -m 0644 "$BIN/completions/zsh/_kiln" "$BIN/completions/zsh/_kilnd" "$DESTDIR$zshdir/"
	install -m 0644 "$BIN/completions/fish/kiln.fish" "$BIN/completions/fish/kilnd.fish" "$DESTDIR$fishdir/"
fi

# The units name /usr/local/bin and /etc/kiln; point them where we install.
for unit in kilnd.service kilnd.socket; do
	sed -e "s#/usr/local/bin/#$bindir/#g" -e "s#/etc/kiln/#$confdir/#g" "systemd/$unit" >"$DESTDIR$UNITDIR/$unit.tmp"
	chmod 0644 "$DESTDIR$UNITDIR/$unit.tmp"
	mv "$DESTDIR$UNITDIR/$unit.tmp" "$DESTDIR$UNITDIR/$unit"
done
install -m 0644 systemd/kiln.sysusers.conf "$DESTDIR$SYSUSERSDIR/kiln.conf"
install -m 0644 systemd/kiln.tmpfiles.conf "$DESTDIR$TMPFILESDIR/kiln.conf"

install -m 0644 systemd/kiln.toml "$DESTDIR$sharedir/kiln.toml.example"
if [ -e "$DESTDIR$confdir/kiln.toml" ]; then
	echo "install: keeping $confdir/kiln.toml; the shipped example is $sharedir/kiln.toml.example"
else
	install -m 0644 systemd/kiln.toml "$DESTDIR$confdir/kiln.toml"
	echo "install: wrote $confdir/kiln.toml"
fi

if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && [ -d /run/systemd/system ]; then
	systemd-sysusers "$SYSUSERSDIR/kiln.conf"
	systemd-tmpfiles --create "$TMPFILESDIR/kiln.conf"
	systemctl daemon-reload
	cat <<MSG
install: done. Next:
  $bindir/kilnd --config $confdir/kiln.toml --check
  systemctl enable --now kilnd.socket kilnd.service
  usermod -aG kiln YOU     # to use the kiln CLI without root
MSG
else
	echo "install: files in place under ${DESTDIR:-/}; create the user and folders with systemd-sysusers and systemd-tmpfiles --create"
fi
