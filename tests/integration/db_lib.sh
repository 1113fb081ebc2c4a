# Database servers for the protocol tests (test_proto_*.sh); sourced after lib.sh and
# ws_init. Each starts a real server from Debian on 127.0.0.1 at a port the kernel picked
# a moment earlier (three tries, as for nginx), with all of its files in $WS_TMP, and
# stops it through the EXIT trap like every other process (by pid).

# ws_start_redis: redis-server, no persistence. Sets REDIS_PORT, REDIS_PID.
# Extra redis-server options may follow (e.g. --databases 64).
ws_start_redis() {
	local bin try i
	bin=$(command -v redis-server || echo /usr/bin/redis-server)
	[ -x "$bin" ] || ws_skip "redis-server missing (scripts/deps.sh installs redis-server)"
	mkdir -p "$WS_TMP/redis"
	for try in 1 2 3; do
		REDIS_PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
		# No RDB/AOF, no unix socket, nothing outside the temp dir.
		ws_spawn redis "$bin" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
			--dir "$WS_TMP/redis" --daemonize no --protected-mode yes --logfile '' "$@"
		REDIS_PID=$WS_LAST_PID
		for ((i = 0; i < 100; i++)); do
			ws_alive "$REDIS_PID" || break
			if ws_port_listening "$REDIS_PORT"; then
				ws_log "redis-server: pid $REDIS_PID on 127.0.0.1:$REDIS_PORT"
				return 0
			fi
			sleep 0.05
		done
		ws_stop_pid "$REDIS_PID" TERM 5
		ws_log "redis-server did not come up on port $REDIS_PORT (attempt $try): $(tail -n 2 "$WS_TMP/redis.out" | tr '\n' ' ')"
	done
	ws_fail "redis-server did not start"
}

# ws_start_postgres DBNAME: initdb + postgres as the postgres user (setpriv, so the pid
# we hold is the postmaster's), listening on 127.0.0.1 only, unix socket in the temp dir;
# trust on the socket, a clear-text password over TCP (the password, a secret, is in
# $PG_PWFILE). Creates DBNAME through the socket. Sets PG_PORT, PG_PID, PG_PWFILE, PGBIN.
# WS_PG_OPTS: more server options (words: "-c name=value ..."), e.g. TLS.
ws_start_postgres() {
	local db=$1 pg=$WS_TMP/pg try i
	PGBIN=${WS_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
	[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/postgres" ] ||
		ws_skip "PostgreSQL server missing (scripts/deps.sh installs postgresql)"
	id postgres >/dev/null 2>&1 || ws_skip "no postgres user (the postgresql package creates it)"
	WS_PG_AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	mkdir -p "$pg/sock"
	PG_PWFILE=$pg/pw
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/pw-secret-/' >"$PG_PWFILE"
	chown -R postgres: "$pg"
	chmod 700 "$pg"
	"${WS_PG_AS[@]}" "$PGBIN/initdb" -D "$pg/data" -U postgres --pwfile="$PG_PWFILE" \
		--auth-local=trust --auth-host=password --no-sync -E UTF8 --locale=C \
		>"$WS_TMP/initdb.out" 2>&1 || ws_fail "initdb failed: $(tail -n 5 "$WS_TMP/initdb.out" | tr '\n' ' ')"
	for try in 1 2 3; do
		PG_PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
		ws_spawn postgres "${WS_PG_AS[@]}" "$PGBIN/postgres" -D "$pg/data" -p "$PG_PORT" \
			-c listen_addresses=127.0.0.1 -c unix_socket_directories="$pg/sock" \
			-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
			-c shared_buffers=16MB -c max_connections=40 -c logging_collector=off ${WS_PG_OPTS:-}
		PG_PID=$WS_LAST_PID
		for ((i = 0; i < 300; i++)); do
			ws_alive "$PG_PID" || break
			if [ -S "$pg/sock/.s.PGSQL.$PG_PORT" ] && ws_port_listening "$PG_PORT"; then
				ws_log "postgres: postmaster $PG_PID on 127.0.0.1:$PG_PORT"
				ws_psql postgres "CREATE DATABASE $db"
				return 0
			fi
			sleep 0.05
		done
		ws_stop_pid "$PG_PID" TERM 10
		ws_log "postgres did not come up on port $PG_PORT (attempt $try): $(tail -n 2 "$WS_TMP/postgres.err" | tr '\n' ' ')"
	done
	ws_fail "postgres did not start"
}

# ws_psql DB SQL: setup through the unix socket (before the agent starts).
ws_psql() {
	"${WS_PG_AS[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WS_TMP/pg/sock" -p "$PG_PORT" \
		-U postgres -d "$1" -c "$2" >"$WS_TMP/psql.out" 2>&1 ||
		ws_fail "psql '$2' failed: $(tail -n 3 "$WS_TMP/psql.out" | tr '\n' ' ')"
}

# ws_check_db PARSER SYSTEM PORT ARGS...: check_db.py on the span file with the
# workload's manifest ($WS_TMP/manifest.json), the agent's log scanned for secrets too;
# a mismatch is a soft failure. Also fails on any proto_<PARSER>_error_* counter but the
# ones named in WS_DB_ERRORS_OK.
ws_check_db() {
	local parser=$1 system=$2 port=$3 c
	shift 3
	for c in $(awk -v p="proto_${parser}_error_" 'index($1, p) == 1 && $2 > 0 {print $1}' "$WS_AGENT_ERR" | sort -u); do
		case " ${WS_DB_ERRORS_OK:-} " in *" ${c#proto_"${parser}"_error_} "*) continue ;; esac
		ws_soft_fail "counter $c is $(ws_counter "$c") (a clean workload)"
	done
	timeout -k 5 60 "$WS_PY" "$WS_IT/check_db.py" --spans "$WS_SPANS" --manifest "$WS_TMP/manifest.json" \
		--system "$system" --port "$port" --scan "$WS_AGENT_ERR" \
		--tolerance-ns "${WS_TOLERANCE_NS:-0}" "$@" ||
		ws_soft_fail "$system spans do not match the workload"
}

# ws_start_mariadb DBNAME: mariadb-install-db + mariadbd (--no-defaults, as the mysql
# user, listening on 127.0.0.1 only, socket/pid/log in the temp dir), DBNAME and a user
# ws@127.0.0.1 with a password (a secret, in $MY_PWFILE) made through the socket as
# root. Sets MY_PORT, MY_PID, MY_PWFILE. WS_MY_OPTS: more server options (words), e.g. TLS.
ws_start_mariadb() {
	local db=$1 my=$WS_TMP/my try i bin inst
	bin=$(command -v mariadbd || echo /usr/sbin/mariadbd)
	inst=$(command -v mariadb-install-db || echo /usr/bin/mariadb-install-db)
	[ -x "$bin" ] && [ -x "$inst" ] || ws_skip "mariadbd missing (scripts/deps.sh installs mariadb-server)"
	id mysql >/dev/null 2>&1 || ws_skip "no mysql user (the mariadb-server package creates it)"
	mkdir -p "$my/data" "$my/tmp"
	MY_PWFILE=$my/pw
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/my-pw-secret-/' >"$MY_PWFILE"
	chown -R mysql: "$my"
	chmod 700 "$my"
	"$inst" --no-defaults --datadir="$my/data" --user=mysql --auth-root-authentication-method=normal \
		--skip-test-db --skip-name-resolve >"$WS_TMP/mariadb-install.out" 2>&1 ||
		ws_fail "mariadb-install-db failed: $(tail -n 5 "$WS_TMP/mariadb-install.out" | tr '\n' ' ')"
	for try in 1 2 3; do
		MY_PORT=$(ws_free_port 127.0.0.1) || ws_fail "no free port"
		ws_spawn mariadbd "$bin" --no-defaults --datadir="$my/data" --socket="$my/sock" \
			--port="$MY_PORT" --bind-address=127.0.0.1 --user=mysql --pid-file="$my/pid" \
			--tmpdir="$my/tmp" --log-error="$WS_TMP/mariadbd.log" --skip-name-resolve --skip-log-bin \
			--innodb-buffer-pool-size=16M --innodb-log-file-size=8M --performance-schema=OFF \
			--max-connections=60 ${WS_MY_OPTS:-}
		MY_PID=$WS_LAST_PID
		for ((i = 0; i < 400; i++)); do
			ws_alive "$MY_PID" || break
			if [ -S "$my/sock" ] && ws_port_listening "$MY_PORT"; then
				ws_log "mariadbd: pid $MY_PID on 127.0.0.1:$MY_PORT"
				ws_mysql "" "CREATE DATABASE $db; CREATE USER 'ws'@'127.0.0.1' IDENTIFIED BY '$(cat "$MY_PWFILE")'; GRANT ALL ON $db.* TO 'ws'@'127.0.0.1'"
				return 0
			fi
			sleep 0.05
		done
		ws_stop_pid "$MY_PID" TERM 10
		ws_log "mariadbd did not come up on port $MY_PORT (attempt $try): $(tail -n 2 "$WS_TMP/mariadbd.log" | tr '\n' ' ')"
	done
	ws_fail "mariadbd did not start"
}

# ws_mysql DB SQL: setup as root through the socket (before the agent starts).
ws_mysql() {
	local mysql
	mysql=$(command -v mariadb || command -v mysql || echo /usr/bin/mariadb)
	"$mysql" --no-defaults -S "$WS_TMP/my/sock" -u root ${1:+-D "$1"} -e "$2" >"$WS_TMP/mysql.out" 2>&1 ||
		ws_fail "mariadb '$2' failed: $(tail -n 3 "$WS_TMP/mysql.out" | tr '\n' ' ')"
}
