# Sourced by scripts/test and scripts/demo: finds a real Asterisk, or builds one from source.
#
# In order: $ASTERISK_PREFIX (an install prefix holding sbin/asterisk), an `asterisk` on the
# PATH, or a build of the tarball named by $ASTERISK_SOURCE into a cache outside the clone
# ($DIALTONE_ASTERISK_CACHE, default /var/tmp/dialtone-asterisk), keyed by the tarball's and the
# module list's checksums so a new tarball or list builds anew and an unchanged one is reused.
# On success exports DIALTONE_ASTERISK (the binary) and DIALTONE_ASTERISK_MODULES (its module
# directory); otherwise exports nothing and the real-Asterisk tests skip, saying so.

asterisk_build_packages=(build-essential libedit-dev libjansson-dev libxml2-dev uuid-dev libsqlite3-dev
    libssl-dev pkg-config libncurses-dev libsrtp2-dev bzip2 patch wget)
asterisk_sound_packages=(asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm espeak-ng sox)

# Debian's sounds and the tools that make Dialtone's default prompts (scripts/make-sounds).
asterisk_sounds() {
    local missing=() p
    for p in "${asterisk_sound_packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}" || say "could not install ${missing[*]}"
}

# Builds $ASTERISK_SOURCE (and the pjproject tarball beside it) into $1, offline.
asterisk_build() {
    local prefix=$1 src=$ASTERISK_SOURCE dir work modules missing=() p
    dir=$(dirname "$src")
    for p in "${asterisk_build_packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
    work="$prefix.build"
    rm -rf "$work" "$prefix"
    mkdir -p "$work/cache"
    cp "$dir"/pjproject-*.tar.bz2 "$work/cache/" 2>/dev/null || say "no pjproject tarball beside $src: building without PJSIP"
    tar -xzf "$src" -C "$work"
    cd "$work"/asterisk-* || return 1
    local started=$SECONDS
    say "building Asterisk from $(basename "$src") into $prefix (about 7 minutes on two cores)"
    ./configure --prefix="$prefix" --with-pjproject-bundled --with-download-cache="$work/cache" \
        --with-jansson-bundled=no --without-libjwt-bundled >"$work/configure.log" 2>&1 ||
        { tail -30 "$work/configure.log" >&2; return 1; }
    make menuselect.makeopts >"$work/menuselect.log" 2>&1
    modules=$(grep -v '^\s*\(#\|$\)' "$OLDPWD/scripts/lib/asterisk-modules.txt" | sed 's/^/--enable /' | tr '\n' ' ')
    # shellcheck disable=SC2086
    menuselect/menuselect --disable-all $modules menuselect.makeopts >>"$work/menuselect.log" 2>&1 ||
        { tail -30 "$work/menuselect.log" >&2; return 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { grep -B5 -A5 -i 'error' "$work/make.log" | tail -40 >&2; return 1; }
    make install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; return 1; }
    cd "$OLDPWD" || return 1
    rm -rf "$work"
    say "Asterisk built in $((SECONDS - started)) s"
}

ensure_asterisk() {
    local bin="" key cache prefix
    asterisk_sounds
    if [ -n "${ASTERISK_PREFIX:-}" ]; then
        bin=$ASTERISK_PREFIX/sbin/asterisk
        [ -x "$bin" ] || { say "ASTERISK_PREFIX=$ASTERISK_PREFIX holds no sbin/asterisk"; bin=""; }
    elif command -v asterisk >/dev/null; then
        bin=$(command -v asterisk)
    elif [ -n "${ASTERISK_SOURCE:-}" ]; then
        if [ ! -f "$ASTERISK_SOURCE" ]; then
            say "ASTERISK_SOURCE=$ASTERISK_SOURCE is not a file"
        else
            cache=${DIALTONE_ASTERISK_CACHE:-/var/tmp/dialtone-asterisk}
            key=$(cat "$ASTERISK_SOURCE" "$(dirname "$ASTERISK_SOURCE")"/pjproject-*.tar.bz2 scripts/lib/asterisk-modules.txt 2>/dev/null |
                sha256sum | cut -c1-16)
            prefix=$cache/$key
            if [ ! -f "$prefix/.complete" ]; then
                mkdir -p "$cache"
                # One build at a time: a second run waits for the first instead of racing it.
                (flock 9 && { [ -f "$prefix/.complete" ] || { asterisk_build "$prefix" && touch "$prefix/.complete"; }; }) 9>"$cache/.lock" ||
                    say "the Asterisk build failed"
                # Builds of other tarballs or module lists are not used again.
                [ -f "$prefix/.complete" ] && find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" ! -name .lock -exec rm -rf {} +
            else
                say "using the cached Asterisk in $prefix"
            fi
            [ -f "$prefix/.complete" ] && bin=$prefix/sbin/asterisk
        fi
    fi
    if [ -z "$bin" ]; then
        say "no Asterisk (set ASTERISK_PREFIX, put asterisk on the PATH, or set ASTERISK_SOURCE): the real-Asterisk tests will be skipped"
        return 0
    fi
    export DIALTONE_ASTERISK=$bin
    # The module directory of this install: the prefix's lib, or Debian's.
    local root
    root=$(dirname "$(dirname "$bin")")
    for d in "$root/lib/asterisk/modules" "$root/lib/x86_64-linux-gnu/asterisk/modules" /usr/lib/asterisk/modules /usr/lib/x86_64-linux-gnu/asterisk/modules; do
        [ -d "$d" ] && { export DIALTONE_ASTERISK_MODULES=$d; break; }
    done
    say "real Asterisk: $bin ($("$bin" -V 2>/dev/null))"
}
