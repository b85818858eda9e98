#!/usr/bin/env bash
# Proves the clock and packet nemeses on the docker test cluster, black-box:
#  1. clock bump: a run of the correct register (lease reads) with every
#     node's clock bumped +5 s stays valid; each register logs a wall-clock
#     skew of +5000 ms (its own clock moved, not a test program's) and a step
#     back at the reset; the ops carry every node's offset; files end at +0.
#  2. clock composed: random clock faults overlapping partitions, correct
#     build, lease reads: valid.
#  3. packet delay: 150 ms toward the peers on every node: a TCP connect from
#     n1 to n2 takes about 300 ms longer (SYN and SYN-ACK both delayed) while
#     the controller's latency to n1 does not rise; valid; healed after.
#  4. packet, random modes: valid and healed.
# The stale-lease-read canary is stale_lease_canary_docker_test.sh.
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin
container() { docker ps -q --filter "label=chaos.cluster=$cluster" --filter "label=chaos.node=$1"; }
nodes() { docker ps --filter "label=chaos.cluster=$cluster" --format '{{.Label "chaos.node"}}'; }
address() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(container "$1")"; }
run() {  # run OUT ARGS...: a chaos run into the store; prints its exit status
  local out=$1
  shift
  timeout 600 "$chaos" run --test-cluster --store "$store" --recovery-time 2 "$@" >"$out" 2>&1
  echo $?
}
latest() { readlink -f "$store/latest"; }

"$chaos" cluster up --test-cluster >/dev/null 2>&1 || { echo "FAIL cluster up"; exit 1; }

# ---- 1. clock bump ----
rc=$(run "$tmp/bump.out" --nemesis clock --read-mode lease --time-limit 14 --nemesis-interval 5 \
  --nemesis-spec 'clock={"mode":"bump","delta_ms":5000,"targets":"all"}' --seed 501)
r=$(latest)
check "clock bump: valid, exit 0 (got $rc; $(tail -1 "$tmp/bump.out"))" test "$rc" -eq 0
check "clock bump: start op records offset_ms 5000 for every node" bash -c \
  "grep '\"f\":\"start-clock\"' '$r/history.jsonl' | grep -q '\"n5\":{\"offset_ms\":5000'"
check "clock bump: stop op records offset_ms 0" bash -c \
  "grep '\"f\":\"stop-clock\"' '$r/history.jsonl' | grep -q '\"n1\":{\"offset_ms\":0'"
for n in $(nodes); do
  skew=$(grep -o 'wall clock skew [-+][0-9]* ms' "$r/nodes/$n/register.log" | awk '{print $4}' |
    sort -n | tail -1)
  check "clock bump: $n's register saw its wall clock move by +5000 ms (logged ${skew:-nothing})" \
    test "${skew:-0}" -ge 4750 -a "${skew:-0}" -le 5250
  check "clock bump: $n's register saw the reset as a step back" \
    grep -q 'wall clock stepped back' "$r/nodes/$n/register.log"
  check "clock bump: $n's control file is back at +0" \
    test "$(docker exec "$(container "$n")" cat /run/chaos/faketime)" = "+0"
done

# ---- 2. clock composed with partitions, random modes ----
rc=$(run "$tmp/clock.out" --nemesis clock,partition --read-mode lease --time-limit 24 \
  --nemesis-interval 3 --seed 502)
r=$(latest)
check "clock,partition: valid, exit 0 (got $rc; $(tail -1 "$tmp/clock.out"))" test "$rc" -eq 0
check "clock,partition: clock faults started and stopped" bash -c \
  "grep -q '\"f\":\"start-clock\"' '$r/history.jsonl' && grep -q '\"f\":\"stop-clock\"' '$r/history.jsonl'"

# ---- 3. packet delay ----
a2=$(address n2)
ssh_port=$(docker port "$(container n1)" 22 | head -1 | sed 's/.*://')
connect_ms() {  # median of 5 TCP connects n1 -> n2:22, in ms
  docker exec "$(container n1)" bash -c "for i in 1 2 3 4 5; do s=\$(date +%s%N);
    exec 3<>/dev/tcp/$a2/22; e=\$(date +%s%N); exec 3>&-; echo \$(( (e - s) / 1000000 )); done" |
    sort -n | sed -n 3p
}
controller_ms() {  # median of 5 SSH banner reads from the host to n1, in ms
  for i in 1 2 3 4 5; do
    s=$(date +%s%N)
    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ssh_port; head -c 7 <&3 >/dev/null"
    e=$(date +%s%N)
    echo $(((e - s) / 1000000))
  done | sort -n | sed -n 3p
}
base_node=$(connect_ms)
base_controller=$(controller_ms)
out=$tmp/packet.out
timeout 600 "$chaos" run --test-cluster --store "$store" --recovery-time 2 --nemesis packet \
  --time-limit 26 --nemesis-interval 9 --seed 503 \
  --nemesis-spec 'packet={"mode":"delay","delay_ms":150,"jitter_ms":0,"targets":"all"}' \
  >"$out" 2>&1 &
pid=$!
started=0
for _ in $(seq 1 120); do
  sleep 0.5
  h=$(latest)/history.jsonl
  if [[ -f $h ]] && grep '"f":"start-packet"' "$h" | grep -q methods; then started=1; break; fi
done
check "packet: the delay started" test $started -eq 1
sleep 1
fault_node=$(connect_ms)
fault_controller=$(controller_ms)
wait $pid
rc=$?
r=$(latest)
rise=$((fault_node - base_node))
echo "     n1->n2 connect: ${base_node} ms before, ${fault_node} ms during (+${rise});" \
  "controller->n1: ${base_controller} ms before, ${fault_controller} ms during"
check "packet: n1->n2 round trip rose by about 2 x 150 ms (got +$rise ms)" \
  test "$rise" -ge 240 -a "$rise" -le 450
check "packet: the controller's latency to n1 did not rise (+$((fault_controller - base_controller)) ms)" \
  test $((fault_controller - base_controller)) -lt 50
check "packet delay: valid, exit 0 (got $rc; $(tail -1 "$out"))" test "$rc" -eq 0
check "packet: the op records the method per node" bash -c \
  "grep '\"f\":\"start-packet\"' '$r/history.jsonl' | grep -q 'iptables+nfqueue+htb\|netem'"
healed() {
  local n c
  for n in $(nodes); do
    c=$(container "$n")
    if docker exec "$c" iptables -w -S CHAOS-PACKET 2>/dev/null | grep -q -- '-A CHAOS-PACKET'; then
      echo "  $n: rules left in CHAOS-PACKET"
      return 1
    fi
    if docker exec "$c" pgrep -x chaos-nfq >/dev/null; then echo "  $n: chaos-nfq running"; return 1; fi
    if docker exec "$c" tc qdisc show | grep -q 'htb c4a5:'; then echo "  $n: our qdisc left"; return 1; fi
  done
}
check "packet delay: healed (no rule, no chaos-nfq, no qdisc)" healed
after=$(connect_ms)
check "packet: n1->n2 round trip back to normal after the heal ($after ms)" test "$after" -lt $((base_node + 50))

# ---- 4. packet, random modes ----
rc=$(run "$tmp/packet2.out" --nemesis packet --time-limit 24 --nemesis-interval 3 --seed 504)
check "packet random modes: valid, exit 0 (got $rc; $(tail -1 "$tmp/packet2.out"))" test "$rc" -eq 0
check "packet random modes: healed" healed

finish
