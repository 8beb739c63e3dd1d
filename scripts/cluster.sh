#!/usr/bin/env bash
# Two avatar-care nodes on one throwaway PostgreSQL, to try the multi-process setup on one machine
# (docs/scale.md). Creates a PostgreSQL cluster under a temporary folder (Debian's initdb and
# pg_ctl, as tests/postgres_cluster.py does), starts `avatar-care serve` twice on it, prints the
# URLs and the /metrics token, and on Ctrl-C (or SIGTERM) stops both nodes and the database and
# deletes the folder: nothing is kept.
#
#   scripts/cluster.sh [--ports 8001,8002] [--pg-port 5433] [--host 127.0.0.1]
#
# Needs PostgreSQL's server programs (apt-get install postgresql; scripts/setup.sh --dev installs
# them) and the virtual environment (scripts/setup.sh, run here when .venv is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

ports="8001,8002"
pg_port="5433"
host="127.0.0.1"
while [ $# -gt 0 ]; do
    case "$1" in
        --ports) ports="$2"; shift 2 ;;
        --pg-port) pg_port="$2"; shift 2 ;;
        --host) host="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "cluster.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -r port_a port_b <<<"$ports"
for p in "$port_a" "$port_b" "$pg_port"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
        echo "cluster.sh: not a port: '$p' (--ports A,B and --pg-port take numbers 1-65535)" >&2
        exit 2
    fi
done
if [ "$port_a" = "$port_b" ]; then
    echo "cluster.sh: the two nodes need two different ports" >&2
    exit 2
fi

[ -x .venv/bin/avatar-care ] || scripts/setup.sh
bin_dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1 || true)"
if [ -z "$bin_dir" ] || [ ! -x "$bin_dir/initdb" ]; then
    bin_dir="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
fi
if [ ! -x "$bin_dir/initdb" ] || [ ! -x "$bin_dir/pg_ctl" ]; then
    echo "cluster.sh: PostgreSQL's initdb and pg_ctl are missing: apt-get install postgresql" >&2
    exit 1
fi

# As root the server runs as Debian's postgres user (PostgreSQL refuses root), under /tmp.
as_pg=()
if [ "$(id -u)" = 0 ]; then
    as_pg=(runuser -u postgres --)
fi
root="$(mktemp -d /tmp/avatar-care-cluster.XXXXXX)"
chmod 755 "$root"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$root"
pids=()

stop() {
    trap - INT TERM EXIT
    [ -d "$root" ] || return 0
    echo "stopping the nodes and the database"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -e "$root/pg/postmaster.pid" ]; then
        (cd "$root" && "${as_pg[@]}" "$bin_dir/pg_ctl" --pgdata "$root/pg" --mode=fast --wait stop >/dev/null) || true
    fi
    rm -rf "$root"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

(cd "$root" && "${as_pg[@]}" "$bin_dir/initdb" --pgdata "$root/pg" --username avatar_care --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$root/initdb.log" 2>&1) || {
    cat "$root/initdb.log" >&2
    exit 1
}
(cd "$root" && "${as_pg[@]}" "$bin_dir/pg_ctl" --pgdata "$root/pg" --log "$root/postgres.log" --wait \
    --timeout=60 -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$root" \
    start >/dev/null) || {
    echo "cluster.sh: PostgreSQL did not start on port $pg_port (taken? try --pg-port):" >&2
    tail -5 "$root/postgres.log" >&2 || true
    exit 1
}
"$bin_dir/createdb" --host 127.0.0.1 --port "$pg_port" --username avatar_care avatar_care
database_url="postgresql+psycopg://avatar_care@127.0.0.1:$pg_port/avatar_care"
metrics_token="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))')"

answers() {  # the node at this URL answers its health check (the venv's Python: no curl needed)
    .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$1" >/dev/null 2>&1
}

# One data folder for both nodes (uploaded avatars are files there, served by either node).
mkdir -p "$root/data"
for port in "$port_a" "$port_b"; do
    AVATAR_CARE_DATA_DIR="$root/data" AVATAR_CARE_DATABASE_URL="$database_url" \
        AVATAR_CARE_METRICS_TOKEN="$metrics_token" \
        .venv/bin/avatar-care serve --host "$host" --port "$port" >"$root/node-$port.log" 2>&1 &
    pids+=($!)
    # one after the other: the first migrates the database and rebuilds the queue alone
    deadline=$((SECONDS + 120))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if answers "http://$host:$port/api/health"; then
            break
        fi
        if ! kill -0 "${pids[-1]}" 2>/dev/null; then
            echo "cluster.sh: the node on port $port stopped:" >&2
            tail -20 "$root/node-$port.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    answers "http://$host:$port/api/health" || {
        echo "cluster.sh: the node on port $port did not answer within 120 s" >&2
        exit 1
    }
done

cat <<EOF
avatar-care cluster: two nodes on one PostgreSQL (Ctrl-C stops everything)
  node A:     http://$host:$port_a/
  node B:     http://$host:$port_b/
  database:   $database_url
  /metrics:   curl -H 'Authorization: Bearer $metrics_token' http://$host:$port_a/metrics
  logs:       $root/node-$port_a.log, $root/node-$port_b.log, $root/postgres.log
EOF

# Until Ctrl-C, or until a node stops on its own (then the rest is stopped too).
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
echo "a node stopped on its own; see its log above" >&2
tail -20 "$root/node-$port_a.log" "$root/node-$port_b.log" >&2 || true
exit 1
