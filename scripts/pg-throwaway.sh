#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: initdb in a temporary folder, a free port on 127.0.0.1, its
# unix socket in that folder, trust authentication for the `postgres` user. GANWATCH_TEST_DB is set to the cluster's
# admin database for the command (the test suite and `npm run bench -- pg` read it); the cluster is stopped and deleted
# when the command ends, however it ends.
#   scripts/pg-throwaway.sh npm run test:pg:run
#   PG_FSYNC=on scripts/pg-throwaway.sh npx tsx bench/run.ts pg   # fsync as in production (default off: a test cluster)
# Needs PostgreSQL's server binaries (Debian: apt-get install postgresql); PG_BINDIR overrides where they are. As root,
# the cluster runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  command -v initdb >/dev/null 2>&1 && bindir=$(dirname "$(command -v initdb)") || {
    echo "pg-throwaway: PostgreSQL's initdb was not found (apt-get install postgresql, or set PG_BINDIR)" >&2
    exit 2
  }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/ganwatch-pg.XXXXXX")
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
stop() {
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# A linguistic locale where there is one, so the tests would notice text ordered by the locale instead of bytewise.
locale=C.UTF-8
locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$' && locale=en_US.UTF-8
as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 2
}
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-off}"
opts="$opts -c shared_buffers=256MB -c max_locks_per_transaction=256"
as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null || {
  cat "$dir/server.log" >&2
  exit 2
}
export GANWATCH_TEST_DB="postgres://postgres@127.0.0.1:$port/postgres"
echo "pg-throwaway: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync ${PG_FSYNC:-off}, $dir)" >&2
"$@"
