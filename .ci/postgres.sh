#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free loopback port and prints
# "export CATALOGVIDEO_POSTGRES_DSN=..." and "export CATALOGVIDEO_POSTGRES_DATA=...".
# Usage: eval "$(bash .ci/postgres.sh start)"; ...; bash .ci/postgres.sh stop "$CATALOGVIDEO_POSTGRES_DATA"
# PostgreSQL refuses to run as root, so the cluster runs as the postgres user.
set -euo pipefail

find_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
	done
	return 1
}

as_postgres() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
	if ! bin=$(find_bin); then
		echo "installing PostgreSQL from Debian packages" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		bin=$(find_bin)
	fi
	port=""
	for p in $(seq 55432 55532); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
	done
	[ -n "$port" ] || { echo "no free port for PostgreSQL" >&2; exit 1; }
	data=$(mktemp -d /tmp/catalogvideo-pg.XXXXXX)
	if [ "$(id -u)" = 0 ]; then chown postgres: "$data"; fi
	as_postgres "$bin/initdb" -D "$data/db" -A trust -U postgres -E UTF8 >"$data/initdb.log" 2>&1 ||
		{ cat "$data/initdb.log" >&2; exit 1; }
	# Durability settings are relaxed: this cluster only serves tests.
	as_postgres "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
		-o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >&2 || { cat "$data/server.log" >&2; exit 1; }
	as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres catalogvideo >&2
	echo "export CATALOGVIDEO_POSTGRES_DSN='postgres://postgres@127.0.0.1:$port/catalogvideo?sslmode=disable'"
	echo "export CATALOGVIDEO_POSTGRES_DATA='$data'"
	;;
stop)
	data=${2:?usage: postgres.sh stop DATA_DIR}
	bin=$(find_bin)
	as_postgres "$bin/pg_ctl" -D "$data/db" -m fast -w stop >&2 || true
	rm -rf "$data"
	;;
*)
	echo "usage: postgres.sh start | stop DATA_DIR" >&2
	exit 2
	;;
esac
