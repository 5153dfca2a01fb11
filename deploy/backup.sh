#!/bin/sh
# Back up one Portail Famille deployment: the PostgreSQL database (pg_dump, custom format) and the
# storage folder (uploaded documents, generated PDFs), side by side with the same timestamp.
#
#   DATABASE_URL=postgres://portail@127.0.0.1/portail PORTAIL_STORAGE=/var/lib/portail/files \
#       deploy/backup.sh /var/backups/portail
#
# Prints the two files it wrote. Both are needed to restore (deploy/restore.sh); keep them together.
set -eu
dest=${1:?usage: backup.sh DEST_DIR}
: "${DATABASE_URL:?DATABASE_URL is required}"
: "${PORTAIL_STORAGE:?PORTAIL_STORAGE (the [storage] path) is required}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"
umask 077  # the dump holds personal data: readable by the backup user only
pg_dump --format=custom --no-owner --no-privileges --file "$dest/portail-$stamp.dump" "$DATABASE_URL"
tar -C "$PORTAIL_STORAGE" -czf "$dest/files-$stamp.tar.gz" .
echo "$dest/portail-$stamp.dump"
echo "$dest/files-$stamp.tar.gz"
