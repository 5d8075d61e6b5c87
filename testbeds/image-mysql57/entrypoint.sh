#!/bin/sh
# innohot MySQL 5.7 test image entrypoint, in the manner of the official
# mysql:5.7 image: arguments starting with '-' are options of mysqld. On a
# datadir without a `mysql` schema it first runs mysqld --initialize-insecure
# (root without password) and lets root in from any host on that first
# start. Runs the server as the container's uid (root gets --user=root).
set -eu
case "${1:-}" in
    -*) set -- mysqld "$@" ;;
esac
if [ "${1:-}" != mysqld ]; then
    exec "$@"
fi
datadir=/var/lib/mysql
for a in "$@"; do
    case "$a" in
        --datadir=*) datadir="${a#--datadir=}" ;;
    esac
done
user_opt=""
if [ "$(id -u)" = 0 ]; then
    user_opt="--user=root"
fi
init_opt=""
if [ ! -d "$datadir/mysql" ]; then
    echo "innohot-entrypoint: initialising $datadir as uid $(id -u)"
    extra=""
    for a in "$@"; do
        case "$a" in
            --innodb-page-size=*|--innodb-undo-tablespaces=*|--innodb-log-file-size=*|--innodb-checksum-algorithm=*) extra="$extra $a" ;;
        esac
    done
    # mysqld --initialize wants a missing or empty datadir.
    # shellcheck disable=SC2086
    mysqld --initialize-insecure --datadir="$datadir" $user_opt $extra >/tmp/initialize.log 2>&1 || {
        cat /tmp/initialize.log >&2
        exit 1
    }
    cat > /tmp/innohot-init.sql <<'SQL'
SET sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'root'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
    init_opt="--init-file=/tmp/innohot-init.sql"
fi
echo "innohot-entrypoint: starting $*"
# shellcheck disable=SC2086
exec "$@" $user_opt $init_opt
