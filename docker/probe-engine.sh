#!/bin/sh
# Probes what the local Docker engine allows that chaos nemeses need, printing
# each command and the engine's exact answer (docs/docker-engine.md records a run).
# Touches only its own network (chaos-probe, 10.77.250.0/24) and containers
# (chaos-probe-*), and removes them at the end.
#   docker/probe-engine.sh [image]     (default: the current chaos-node image)
set -u
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-$("$here/build-image.sh" --tag)}
net=chaos-probe
run() {
  echo "\$ $*"
  out=$("$@" 2>&1); rc=$?
  [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
  echo "    [exit $rc]"
}
cleanup() {
  docker rm -f chaos-probe-a chaos-probe-b chaos-probe-fuse chaos-probe-nocap >/dev/null 2>&1
  docker network rm "$net" >/dev/null 2>&1
}
cleanup

echo "## engine"
run docker version --format 'server {{.Server.Version}} api {{.Server.APIVersion}}'
run docker info --format 'driver={{.Driver}} cgroup={{.CgroupVersion}} cgroupdriver={{.CgroupDriver}} kernel={{.KernelVersion}} security={{.SecurityOptions}}'

echo "## network with a fixed subnet"
run docker network create --driver bridge --subnet 10.77.250.0/24 --label chaos=1 "$net"
run docker run -d --init --name chaos-probe-a --hostname a --network "$net" --ip 10.77.250.11 \
  --cap-add NET_ADMIN -p 127.0.0.1:42991:22 --label chaos=1 "$image"
run docker run -d --init --name chaos-probe-b --hostname b --network "$net" --ip 10.77.250.12 \
  --cap-add NET_ADMIN --label chaos=1 "$image"
run docker run -d --init --name chaos-probe-nocap --network "$net" --ip 10.77.250.13 \
  --label chaos=1 "$image"
sleep 1
run docker port chaos-probe-a
run docker exec chaos-probe-a ip -4 addr show eth0

echo "## port publishing on 127.0.0.1 (sshd banner through the published port)"
run timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/42991; head -c 8 <&3'

echo "## iptables with NET_ADMIN (nf_tables backend, Debian's default)"
run docker exec chaos-probe-a iptables --version
run docker exec chaos-probe-a iptables -N CHAOS
run docker exec chaos-probe-a iptables -I INPUT -j CHAOS
run docker exec chaos-probe-a iptables -I OUTPUT -j CHAOS
run docker exec chaos-probe-a timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.250.12/22; head -c 8 <&3'
run docker exec chaos-probe-a iptables -A CHAOS -d 10.77.250.12 -j DROP
run docker exec chaos-probe-a timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.250.12/22; head -c 8 <&3'
run docker exec chaos-probe-a iptables -F CHAOS
run docker exec chaos-probe-a timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.250.12/22; head -c 8 <&3'
run docker exec chaos-probe-a iptables -S
run docker exec chaos-probe-a iptables -A CHAOS -m statistic --mode random --probability 0.1 -s 10.77.250.12 -j DROP
run docker exec chaos-probe-a iptables -A CHAOS -p tcp --dport 7000 -j NFQUEUE --queue-num 1 --queue-bypass
run docker exec chaos-probe-a iptables -F CHAOS

echo "## rules docker made inside the container (embedded DNS), per backend"
run docker exec chaos-probe-a iptables-save -t nat
run docker exec chaos-probe-a iptables-legacy-save -t nat

echo "## iptables, legacy backend"
run docker exec chaos-probe-a iptables-legacy -N CHAOS
run docker exec chaos-probe-a iptables-legacy -A CHAOS -d 10.77.250.12 -j DROP
run docker exec chaos-probe-a iptables-legacy -F CHAOS
run docker exec chaos-probe-a iptables-legacy -X CHAOS

echo "## iptables without NET_ADMIN (expected refusal)"
run docker exec chaos-probe-nocap iptables -N CHAOS

echo "## tc: tbf (rate), netem (delay/loss), htb"
run docker exec chaos-probe-a tc qdisc add dev eth0 root tbf rate 1mbit burst 32kbit latency 400ms
run docker exec chaos-probe-a tc qdisc show dev eth0
run docker exec chaos-probe-a tc qdisc del dev eth0 root
run docker exec chaos-probe-a tc qdisc add dev eth0 root netem delay 100ms
run docker exec chaos-probe-a tc qdisc add dev eth0 root handle 1: htb default 10
run docker exec chaos-probe-a tc qdisc del dev eth0 root

echo "## signals: SIGSTOP/SIGCONT of a process, docker pause (cgroup freezer)"
run docker exec chaos-probe-a sh -c 'sleep 100 & p=$!; kill -STOP $p; grep State /proc/$p/status; kill -CONT $p; grep State /proc/$p/status; kill -9 $p'
run docker pause chaos-probe-b
run docker exec chaos-probe-a timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.250.12/22; head -c 8 <&3'
run docker unpause chaos-probe-b

echo "## FUSE: /dev/fuse with SYS_ADMIN"
run docker run -d --init --name chaos-probe-fuse --network "$net" --ip 10.77.250.14 \
  --device /dev/fuse --cap-add SYS_ADMIN --label chaos=1 "$image"
sleep 1
run docker exec chaos-probe-fuse ls -l /dev/fuse
run docker exec chaos-probe-fuse sh -c 'grep fuse /proc/filesystems'
run docker exec chaos-probe-a ls -l /dev/fuse
# A minimal FUSE filesystem built on the host (docker/probe/fuse_hello.c).
fuse_bin=/tmp/chaos_fuse_hello
if gcc -O2 -o "$fuse_bin" "$here/probe/fuse_hello.c" $(pkg-config --cflags --libs fuse3) 2>/dev/null; then
  run docker cp "$fuse_bin" chaos-probe-fuse:/usr/local/bin/fuse_hello
  run docker exec chaos-probe-fuse sh -c 'mkdir -p /mnt/f && fuse_hello /mnt/f && cat /mnt/f/hello && fusermount3 -u /mnt/f'
  run docker rm -f chaos-probe-fuse
  echo "## FUSE with SYS_ADMIN and apparmor=unconfined"
  run docker run -d --init --name chaos-probe-fuse --network "$net" --ip 10.77.250.14 \
    --device /dev/fuse --cap-add SYS_ADMIN --security-opt apparmor=unconfined --label chaos=1 "$image"
  sleep 1
  run docker cp "$fuse_bin" chaos-probe-fuse:/usr/local/bin/fuse_hello
  run docker exec chaos-probe-fuse sh -c 'mkdir -p /mnt/f && fuse_hello /mnt/f && cat /mnt/f/hello && fusermount3 -u /mnt/f'
  echo "## FUSE with /dev/fuse but without SYS_ADMIN"
  run docker rm -f chaos-probe-fuse
  run docker run -d --init --name chaos-probe-fuse --network "$net" --ip 10.77.250.14 \
    --device /dev/fuse --label chaos=1 "$image"
  sleep 1
  run docker cp "$fuse_bin" chaos-probe-fuse:/usr/local/bin/fuse_hello
  run docker exec chaos-probe-fuse sh -c 'mkdir -p /mnt/f && fuse_hello /mnt/f && cat /mnt/f/hello && fusermount3 -u /mnt/f'
  echo "## FUSE without /dev/fuse"
  run docker cp "$fuse_bin" chaos-probe-a:/usr/local/bin/fuse_hello
  run docker exec chaos-probe-a sh -c 'mkdir -p /mnt/f && fuse_hello /mnt/f && cat /mnt/f/hello && fusermount3 -u /mnt/f'
else
  echo "(no FUSE probe: gcc or libfuse3-dev missing on the host)"
fi

echo "## docker stop time (init handles SIGTERM)"
run sh -c 'start=$(date +%s%N); docker stop chaos-probe-b >/dev/null; echo "$(( ($(date +%s%N) - start) / 1000000 )) ms"'

cleanup
echo "## after cleanup"
run docker ps -a --filter label=chaos=1 --format '{{.Names}}'
run docker network ls --filter label=chaos=1 --format '{{.Name}}'
