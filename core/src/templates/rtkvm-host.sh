#!/bin/sh
# The real-time KVM host's boot-time step, planned by rtkvm (recipe 3). Install it as
# /usr/local/sbin/rtkvm-host.sh; rtkvm-host.service runs it at every boot.
# Huge pages of @HUMAN@: @PLAN@.
%runtime%# This kernel cannot reserve different counts per node at boot: each node's count is
%runtime%# set here, compacting memory and retrying when a node falls short.
%full%# It also raises the per-CPU kernel threads above the vCPUs (priority @VCPU_PRIO@), sets the
%full%# performance governor on the isolated CPUs and keeps irqbalance off them.

set -u
size_kb=@SIZE_KB@
%full%isolated=@ISOLATED@
status=0

pages_file() {
  echo "/sys/devices/system/node/node$1/hugepages/hugepages-${size_kb}kB/nr_hugepages"
}

%runtime%# reserve NODE COUNT: sets the node's pool, 5 tries.
%runtime%reserve() {
%runtime%  file=$(pages_file "$1")
%runtime%  [ -w "$file" ] || return 0
%runtime%  try=1
%runtime%  while :; do
%runtime%    echo "$2" > "$file" 2>/dev/null
%runtime%    if [ "$(cat "$file")" -ge "$2" ] || [ "$try" -ge 5 ]; then
%runtime%      return 0
%runtime%    fi
%runtime%    echo 1 > /proc/sys/vm/compact_memory 2>/dev/null
%runtime%    sleep 1
%runtime%    try=$((try + 1))
%runtime%  done
%runtime%}
%runtime%
# check NODE COUNT: reports whether the node holds COUNT pages.
check() {
  file=$(pages_file "$1")
  if [ ! -d "/sys/devices/system/node/node$1" ]; then
    echo "node $1: no such NUMA node; was the plan made for this host?" >&2
    status=1
  elif [ ! -r "$file" ]; then
    echo "node $1: no pages of @HUMAN@; is hugepagesz=@SIZE@ in /proc/cmdline (reboot after adding it)?" >&2
    status=1
  elif [ "$(cat "$file")" -lt "$2" ]; then
    echo "node $1: $(cat "$file") of $2 pages of @HUMAN@; free memory on the node and run this again" >&2
    status=1
  else
    echo "node $1: $2 pages of @HUMAN@ reserved"
  fi
}

%full%# raise PATTERN PRIORITY: SCHED_FIFO PRIORITY for the kernel threads named PATTERN.
%full%raise() {
%full%  for pid in $(pgrep "$1"); do
%full%    chrt -f -p "$2" "$pid" || status=1
%full%  done
%full%}
%full%
%full%governor() {
%full%  file=/sys/devices/system/cpu/cpu$1/cpufreq/scaling_governor
%full%  if [ -w "$file" ] && ! echo performance > "$file"; then
%full%    status=1
%full%  fi
%full%}
%full%
%runtime%@RESERVE@
@CHECK@
%full%
%full%# RCU's threads get @RCU_PRIO@ from rcutree.kthread_prio.
%full%raise '^ksoftirqd/' @KSOFTIRQD_PRIO@
%rt%raise '^ktimers/' @KTIMERS_PRIO@
%full%for range in $(echo "$isolated" | tr ',' ' '); do
%full%  cpu=${range%-*}
%full%  while [ "$cpu" -le "${range#*-}" ]; do
%full%    governor "$cpu"
%full%    cpu=$((cpu + 1))
%full%  done
%full%done
%full%
%full%# irqbalance 1.8 and later read this list; stop an older one (systemctl disable --now irqbalance).
%full%for conf in /etc/sysconfig/irqbalance /etc/default/irqbalance; do
%full%  if [ -f "$conf" ] && ! grep -qx "IRQBALANCE_BANNED_CPULIST=$isolated" "$conf"; then
%full%    sed -i '/^IRQBALANCE_BANNED_CPULIST=/d' "$conf"
%full%    echo "IRQBALANCE_BANNED_CPULIST=$isolated" >> "$conf"
%full%  fi
%full%done
exit "$status"
