#!/bin/sh
# PID 1's child in a chaos node (docker runs tini as PID 1 with --init, which
# reaps orphans such as killed daemons). Makes this node's own host key,
# installs the cluster's public key for root, runs sshd and stops at once on
# SIGTERM so `docker stop` is quick.
set -eu
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key </dev/null >/dev/null 2>&1 \
  || { [ -s /etc/ssh/ssh_host_ed25519_key ] || exit 1; }
mkdir -p /root/.ssh /run/sshd
chmod 0700 /root/.ssh
if [ -n "${CHAOS_AUTHORIZED_KEY:-}" ]; then
  printf '%s\n' "$CHAOS_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 0600 /root/.ssh/authorized_keys
fi
/usr/sbin/sshd -D -e &
sshd_pid=$!
trap 'kill -TERM "$sshd_pid" 2>/dev/null; exit 0' TERM INT
wait "$sshd_pid"
