#!/bin/sh
# Installs Kiln into the usual places; `make install` runs it after
# `make build`, and `make uninstall` runs it with --uninstall.
#
#   scripts/install.sh                  install
#   scripts/install.sh --uninstall      remove what install put, except the
#                                       config in $SYSCONFDIR/kiln and the state
#                                       in /var/lib/kiln (PURGE=1 removes them too)
#
#   PREFIX      where programs go: $PREFIX/bin, the internal workers in
#               $PREFIX/libexec/kiln, and the systemd files under
#               $PREFIX/lib (default /usr/local; a package uses /usr)
#   DESTDIR     staging root for packaging; nothing outside it is touched
#   SYSCONFDIR  where kiln/kiln.toml goes (default /etc)
#   BIN         the built programs (default ./bin), and the man pages and
#               completions `make man` wrote into $BIN/man and $BIN/completions
#   UNITDIR, SYSUSERSDIR, TMPFILESDIR  override the systemd folders
#
# An existing $SYSCONFDIR/kiln/kiln.toml is never replaced; the example is
# always at $PREFIX/share/kiln/kiln.toml.example for comparison. The config
# is 0640 root:kiln, since a fleet's may hold the database password: kilnd
# (group kiln) reads it, other users cannot. The tmpfiles entry keeps it so.
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
libexecdir=$PREFIX/libexec/kiln
libdir=$PREFIX/lib
UNITDIR=${UNITDIR:-$libdir/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$libdir/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$libdir/tmpfiles.d}
sharedir=$PREFIX/share/kiln
docdir=$PREFIX/share/doc/kiln
confdir=$SYSCONFDIR/kiln
statedir=/var/lib/kiln

if [ "${1:-}" = "--uninstall" ]; then
	for f in "$bindir/kilnd" "$bindir/kiln" "$libexecdir/kiln-worker" "$libexecdir/kiln-gpu-worker" \
		"$UNITDIR/kilnd.service" "$UNITDIR/kilnd.socket" "$SYSUSERSDIR/kiln.conf" "$TMPFILESDIR/kiln.conf" \
		"$sharedir/kiln.toml.example" "$docdir/README.md"; do
		if [ -e "$DESTDIR$f" ] || [ -L "$DESTDIR$f" ]; then
			rm -f "$DESTDIR$f"
			echo "uninstall: removed $f"
		fi
	done
	# The man pages and completions that make man generates and install
	# copies: kiln.1, kiln-submit.1, ..., kilnd.1, and one completion file per
	# shell and command.
	share=$DESTDIR$PREFIX/share
	for f in "$share"/man/man1/kiln.1 "$share"/man/man1/kiln-*.1 "$share"/man/man1/kilnd.1 "$share"/man/man1/kilnd-*.1 \
		"$share"/bash-completion/completions/kiln "$share"/bash-completion/completions/kilnd \
		"$share"/zsh/site-functions/_kiln "$share"/zsh/site-functions/_kilnd \
		"$share"/fish/vendor_completions.d/kiln.fish "$share"/fish/vendor_completions.d/kilnd.fish; do
		if [ -e "$f" ]; then
			rm -f "$f"
			echo "uninstall: removed ${f#"$DESTDIR"}"
		fi
	done
	for d in "$libexecdir" "$sharedir" "$docdir"; do
		rmdir "$DESTDIR$d" 2>/dev/null || true
	done
	if [ -n "${PURGE:-}" ]; then
		rm -rf "$DESTDIR$confdir" "$DESTDIR$statedir"
		echo "uninstall: purged $confdir and $statedir"
	else
		echo "uninstall: kept $confdir and $statedir (PURGE=1 removes them); the kiln user stays"
	fi
	if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	exit 0
fi

for p in kilnd kiln-worker kiln; do
	if [ ! -x "$BIN/$p" ]; then
		echo "install: $BIN/$p is missing; run make build first" >&2
		exit 1
	fi
done

install -d "$DESTDIR$bindir" "$DESTDIR$libexecdir" "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR" \
	"$DESTDIR$TMPFILESDIR" "$DESTDIR$sharedir" "$DESTDIR$docdir" "$DESTDIR$confdir"

install -m 0755 "$BIN/kilnd" "$BIN/kiln" "$DESTDIR$bindir/"
# The workers are kilnd's own programs, not commands: kilnd starts them
# from ../libexec/kiln/ (one per job), so they stay off the PATH. The GPU
# worker exists after `make cuda`.
install -m 0755 "$BIN/kiln-worker" "$DESTDIR$libexecdir/"
if [ -x "$BIN/kiln-gpu-worker" ]; then
	install -m 0755 "$BIN/kiln-gpu-worker" "$DESTDIR$libexecdir/"
fi
# Earlier versions put them in $PREFIX/bin; a stale copy there would be a
# second, older worker on the PATH.
for p in kiln-worker kiln-gpu-worker; do
	if [ -e "$DESTDIR$bindir/$p" ]; then
		rm -f "$DESTDIR$bindir/$p"
		echo "install: removed the old $bindir/$p (workers now live in $libexecdir)"
	fi
done
install -m 0644 README.md "$DESTDIR$docdir/README.md"

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
	sed -e "s#/usr/local/bin/#$bindir/#g" -e "s#/usr/local/share/#$PREFIX/share/#g" -e "s#/etc/kiln/#$confdir/#g" "systemd/$unit" >"$DESTDIR$UNITDIR/$unit.tmp"
	chmod 0644 "$DESTDIR$UNITDIR/$unit.tmp"
	mv "$DESTDIR$UNITDIR/$unit.tmp" "$DESTDIR$UNITDIR/$unit"
done
install -m 0644 systemd/kiln.sysusers.conf "$DESTDIR$SYSUSERSDIR/kiln.conf"
sed -e "s#/etc/kiln/#$confdir/#g" systemd/kiln.tmpfiles.conf >"$DESTDIR$TMPFILESDIR/kiln.conf"
chmod 0644 "$DESTDIR$TMPFILESDIR/kiln.conf"

install -m 0644 systemd/kiln.toml "$DESTDIR$sharedir/kiln.toml.example"
if [ -e "$DESTDIR$confdir/kiln.toml" ]; then
	echo "install: keeping $confdir/kiln.toml; the shipped example is $sharedir/kiln.toml.example"
else
	install -m 0640 systemd/kiln.toml "$DESTDIR$confdir/kiln.toml"
	echo "install: wrote $confdir/kiln.toml"
fi

if [ -z "$DESTDIR" ] && [ "$(id -u)" -eq 0 ] && [ -d /run/systemd/system ]; then
	systemd-sysusers "$SYSUSERSDIR/kiln.conf"
	# Also makes the config root:kiln 0640, new or kept.
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
