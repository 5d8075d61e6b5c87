#!/bin/sh
# innohot test images' entrypoint (the MariaDB image and the MySQL 5.7 one, which
# scripts/build-test-image.sh gives this same file), in the manner of the
# official images: arguments starting with '-' are options of the server the
# image holds (mariadbd, else mysqld). On a datadir without a `mysql` schema it
# first initialises one (mariadb-install-db with no test database, or mysqld
# --initialize-insecure; root without password) and lets root in from any host
# on that first start. Runs the server as the container's uid (root gets
# --user=root).
set -eu
server=mysqld
if command -v mariadbd >/dev/null 2>&1; then
    server=mariadbd
fi
case "${1:-}" in
    -*) set -- "$server" "$@" ;;
esac
if [ "${1:-}" != mariadbd ] && [ "${1:-}" != mysqld ]; then
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
# The new datadir's system tables (mysqld --initialize wants it missing or empty).
initialise() {
    # shellcheck disable=SC2086
    if [ "$server" = mariadbd ]; then
        mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db $user_opt $extra
    else
        mysqld --initialize-insecure --datadir="$datadir" $user_opt $extra
    fi
}
init_opt=""
if [ ! -d "$datadir/mysql" ]; then
    echo "innohot-entrypoint: initialising $datadir as uid $(id -u)"
    extra=""
    for a in "$@"; do
        case "$a" in
            --innodb-page-size=*|--innodb-undo-tablespaces=*|--innodb-log-file-size=*|--innodb-checksum-algorithm=*) extra="$extra $a" ;;
        esac
    done
    initialise >/tmp/initialise.log 2>&1 || {
        cat /tmp/initialise.log >&2
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
