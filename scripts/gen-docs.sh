#!/bin/sh
# Generates the man pages and the bash, zsh and fish completions from the
# built commands themselves (cobra), so that they always match them:
#   $BIN/man/man1/*.1
#   $BIN/completions/bash/{kiln,kilnd}
#   $BIN/completions/zsh/{_kiln,_kilnd}
#   $BIN/completions/fish/{kiln,kilnd}.fish
# `make man` runs it; `make install` installs what it wrote.
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}

rm -rf "$BIN/man" "$BIN/completions"
mkdir -p "$BIN/man/man1" "$BIN/completions/bash" "$BIN/completions/zsh" "$BIN/completions/fish"
for p in kiln kilnd; do
	"$BIN/$p" gen-man "$BIN/man/man1"
	"$BIN/$p" completion bash >"$BIN/completions/bash/$p"
	"$BIN/$p" completion zsh >"$BIN/completions/zsh/_$p"
	"$BIN/$p" completion fish >"$BIN/completions/fish/$p.fish"
done
echo "gen-docs: $(ls "$BIN/man/man1" | wc -l) man pages in $BIN/man/man1, completions in $BIN/completions"
