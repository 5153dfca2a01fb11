#!/bin/sh
# Restore a backup made by deploy/backup.sh into an EMPTY database and an empty storage folder.
#
#   createdb -O portail portail_restored
#   deploy/restore.sh /var/backups/portail/portail-20261124T020000Z.dump \
#                     /var/backups/portail/files-20261124T020000Z.tar.gz \
#                     postgres://portail@127.0.0.1/portail_restored /var/lib/portail/files-restored
#
# Then point DATABASE_URL / [storage] path at them, run `portail db migrate` (applies the migrations
# a newer version may add) and `portail config check`, and start the server.
set -eu
dump=${1:?usage: restore.sh DUMP FILES_TAR TARGET_DATABASE_URL TARGET_STORAGE}
files=${2:?usage: restore.sh DUMP FILES_TAR TARGET_DATABASE_URL TARGET_STORAGE}
target=${3:?usage: restore.sh DUMP FILES_TAR TARGET_DATABASE_URL TARGET_STORAGE}
storage=${4:?usage: restore.sh DUMP FILES_TAR TARGET_DATABASE_URL TARGET_STORAGE}
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname "$target" "$dump"
mkdir -p "$storage"
tar -C "$storage" -xzf "$files"
echo "restored $(basename "$dump") and $(basename "$files")"
