#!/usr/bin/env bash
# A PostgreSQL cluster of one test's own, so the test can stop the server
# itself (a real outage: sessions end with "terminating connection due to
# administrator command", new ones are refused) without touching the shared
# test server. Used by the outage tests and the fault matrix.
#
#   private-postgres.sh start DIR PORT   initdb DIR on first use, start on 127.0.0.1:PORT
#   private-postgres.sh stop DIR         fast shutdown (what a restart or failover does)
#   private-postgres.sh destroy DIR      stop (immediate) and delete DIR
#
# The role `crm` (superuser, trust auth) owns database `crm`, as in the test stack.
set -euo pipefail
# The server outlives this script: it must not inherit the caller's descriptors beyond
# stdio (Foundation's Process watches a socket its child inherits to see the child end).
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if ((n > 2)); then eval "exec $n>&-" 2>/dev/null || true; fi
done
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || die "usage: private-postgres.sh start|stop|destroy DIR [PORT]"
PG_BIN=$(pg_bindir) || die "PostgreSQL server binaries not found; run scripts/setup.sh"
PGDATA="$dir/pg"

case $cmd in
  start)
    port=${3:?port}
    if [[ ! -f $PGDATA/PG_VERSION ]]; then
      mkdir -p "$dir"
      chmod 755 "$(dirname "$dir")"
      if is_root; then chown postgres:postgres "$dir"; fi
      chmod 700 "$dir"
      as_pg "$PG_BIN/initdb" -D "$PGDATA" --auth=trust -U postgres --encoding=UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed"; }
      printf '%s\n' "fsync = off" "synchronous_commit = off" "full_page_writes = off" "max_connections = 100" |
        as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
      fresh=1
    fi
    as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$dir/postgres.log" -w -t 30 \
      -o "-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" >/dev/null ||
      { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
    if [[ ${fresh:-0} == 1 ]]; then
      "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "create role crm login superuser" -c "create database crm owner crm"
    fi
    ;;
  stop)
    as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 30 >/dev/null
    ;;
  destroy)
    if [[ -f $PGDATA/postmaster.pid ]]; then
      as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 10 >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) die "unknown command: $cmd" ;;
esac
