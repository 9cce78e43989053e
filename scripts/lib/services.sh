# Shared by scripts/demo and scripts/test: finds or starts the services Dialtone needs.
# Sourced, not run. Every function says what it does on stderr.

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1; fi
}

apt_install() {
    say "installing $* (Debian packages)"
    if [ -z "${DIALTONE_APT_UPDATED:-}" ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        export DIALTONE_APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Waits until host:port accepts TCP connections, at most $3 seconds.
wait_port() {
    local host=$1 port=$2 limit=${3:-30} i
    for ((i = 0; i <= limit * 10; i++)); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
    done
    return 1
}

# A PostgreSQL cluster of our own, in $1, listening on 127.0.0.1:$2 with trust auth for
# user postgres. Installs the server package when the machine has none. Sets DATABASE_URL
# to the database named $3 there.
private_postgres() {
    local dir=$1 port=$2 db=$3 bin run=()
    bin=$(pg_bindir) || { apt_install postgresql >/dev/null; bin=$(pg_bindir); } || { say "no PostgreSQL server could be installed"; return 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        # PostgreSQL refuses to run as root: the cluster belongs to the postgres user, in a
        # place that user can reach.
        if ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
            dir=/var/tmp/dialtone-pg/$(printf '%s' "$dir" | sha256sum | cut -c1-12)
            mkdir -p "$dir"
        fi
        chown postgres: "$dir"
        run=(runuser -u postgres --)
    fi
    if [ ! -f "$dir/PG_VERSION" ]; then
        say "creating a private PostgreSQL cluster in $dir"
        "${run[@]}" "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
    fi
    if "${run[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        # Ours, already running: its port is the fourth line of postmaster.pid.
        port=$(sed -n 4p "$dir/postmaster.pid")
    else
        # The first free port from the one asked for: another server may hold it.
        while wait_port 127.0.0.1 "$port" 0; do
            port=$((port + 1))
        done
        say "starting PostgreSQL on 127.0.0.1:$port ($dir)"
        "${run[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 -c shared_buffers=1GB -c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_compression=on" start >/dev/null
    fi
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$db"
    "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" postgres | grep -q 1 ||
        "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE \"$db\"" postgres
}

# Uses DATABASE_URL when set; otherwise a private cluster in $1.
ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ]; then
        say "using DATABASE_URL"
        return 0
    fi
    private_postgres "$1" "${DIALTONE_PG_PORT:-5433}" "${2:-dialtone}"
}

# Uses REDIS_URL when set; otherwise a Redis on 127.0.0.1:6379, started (and installed) if
# none answers there.
ensure_redis() {
    if [ -n "${REDIS_URL:-}" ]; then return 0; fi
    if ! wait_port 127.0.0.1 6379 0; then
        command -v redis-server >/dev/null || apt_install redis-server >/dev/null
        say "starting Redis on 127.0.0.1:6379"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no >/dev/null
        wait_port 127.0.0.1 6379 15 || { say "Redis did not start"; return 1; }
    fi
    export REDIS_URL=redis://127.0.0.1:6379
}

# Debian's Chromium and its WebDriver, for the browser tests.
ensure_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium chromium-driver
    fi
}
