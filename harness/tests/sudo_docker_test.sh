#!/usr/bin/env bash
# Proves `chaos run --nodes ... --username U` end to end against real hosts
# reached only over SSH, with a login user that is not root but has
# passwordless sudo: the docker test cluster's nodes are used as plain SSH
# hosts (their cluster addresses, port 22, a known_hosts file of their host
# keys), each given a user `chaosop` allowed `sudo -n`. The register is
# installed (uploaded as chaosop, placed as root), started, partitioned and
# killed, its logs downloaded; the run is valid and every fault is healed (no
# rule left in our iptables chain, the daemon running again before teardown).
set -uo pipefail
chaos=$1
. "$(dirname "$0")/../../scripts/test-lib.sh"
docker_test_begin

"$chaos" cluster up --test-cluster >"$tmp/up.out" 2>&1
check "cluster up ($(tail -1 "$tmp/up.out"))" test $? -eq 0
inventory=$CHAOS_ROOT/.cluster/test${CHAOS_TEST_SLOT:-}/inventory.json
check "inventory of the test cluster" test -s "$inventory"
key=$(python3 -c "import json;print(json.load(open('$inventory'))['ssh']['private_key'])")
addresses=$(python3 -c "import json;print(','.join(n['address'] for n in json.load(open('$inventory'))['nodes']))")
: >"$tmp/known_hosts"
i=1
for address in ${addresses//,/ }; do
  c=$cluster-n$i
  docker exec "$c" sh -c '
    id chaosop >/dev/null 2>&1 || useradd -m -s /bin/sh -p "*" chaosop
    mkdir -p /home/chaosop/.ssh && cp /root/.ssh/authorized_keys /home/chaosop/.ssh/
    chown -R chaosop /home/chaosop/.ssh && chmod 0700 /home/chaosop/.ssh
    echo "chaosop ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/chaosop && chmod 0440 /etc/sudoers.d/chaosop
    grep -q "^Match User chaosop" /etc/ssh/sshd_config || printf "Match User chaosop\n  AuthorizedKeysFile /home/chaosop/.ssh/authorized_keys\n" >>/etc/ssh/sshd_config
    pkill -HUP -o -x sshd' >"$tmp/user.out" 2>&1
  check "n$i: user chaosop with sudo ($(tail -1 "$tmp/user.out"))" test $? -eq 0
  echo "$address $(docker exec "$c" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1,2)" \
    >>"$tmp/known_hosts"
  i=$((i + 1))
done
sleep 1

timeout 600 "$chaos" run --nodes "$addresses" --username chaosop --ssh-key "$key" \
  --known-hosts "$tmp/known_hosts" --store "$store" --nemesis partition,kill \
  --time-limit 20 --nemesis-interval 3 --recovery-time 3 --seed 51 >"$tmp/run.out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
check "run as chaosop: valid, exit 0 (got $rc; $(grep -v '^chaos:' "$tmp/run.out" | head -1))" \
  test $rc -eq 0
first=${addresses%%,*}
check "run as chaosop: the register's log downloaded" test -s "$run/nodes/$first/register.log"
for kind in partition kill; do
  check "run as chaosop: $kind started and stopped without error" python3 -c "
import json
ops = [json.loads(l) for l in open('$run/history.jsonl')]
starts = [o for o in ops if o['process'] == 'nemesis' and o['f'] == 'start-$kind' and o.get('error') is None]
errors = [o for o in ops if o['process'] == 'nemesis' and o['f'].endswith('-$kind') and o.get('error')]
assert len(starts) >= 2 and not errors, errors
"
done
check "run as chaosop: the binary was placed as root" \
  docker exec "$cluster-n1" sh -c 'test "$(stat -c %U /opt/chaos/chaos-register)" = root'
healed=0
for i in 1 2 3 4 5; do
  rules=$(docker exec "$cluster-n$i" sh -c 'iptables -S CHAOS 2>/dev/null | grep -c -- "-j DROP"')
  [ "${rules:-0}" -eq 0 ] || healed=1
done
check "run as chaosop: healed, no DROP rule left in chain CHAOS" test $healed -eq 0
check "run as chaosop: staged uploads removed from /tmp" \
  docker exec "$cluster-n1" sh -c '! ls /tmp/chaos-chaosop-* 2>/dev/null | grep -q .'

# The declarative Redis example as chaosop: each client's long-lived
# redis-cli runs through sudo, and those stopped after a fault are killed
# (their process group, as root); none outlives the run.
timeout 300 "$chaos" run --nodes "$addresses" --username chaosop --ssh-key "$key" \
  --known-hosts "$tmp/known_hosts" --store "$store" --adapter "$CHAOS_ROOT/examples/redis.json" \
  --nemesis partition,kill --time-limit 15 --nemesis-interval 3 --recovery-time 2 --seed 52 \
  >"$tmp/redis.out" 2>&1
rc=$?
run=$(readlink -f "$store/latest")
check "redis as chaosop: valid, exit 0 (got $rc; $(grep -v '^chaos:' "$tmp/redis.out" | head -1))" \
  test $rc -eq 0
check "redis as chaosop: ok writes recorded" grep -q '"type":"ok","f":"write"' "$run/history.jsonl"
# Bounded: a program whose channel closed reads EOF and exits within moments.
no_redis_cli() {
  local i n
  for i in 1 2 3 4 5 6 7 8 9 10; do
    n=0
    for c in 1 2 3 4 5; do
      docker exec "$cluster-n$c" pgrep -x redis-cli >/dev/null && n=$((n + 1))
    done
    [ $n -eq 0 ] && return 0
    sleep 1
  done
  return 1
}
check "redis as chaosop: no redis-cli left on any node" no_redis_cli

finish
