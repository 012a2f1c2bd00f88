#!/bin/sh
# The real-time KVM host's boot-time step, planned by rtkvm (recipe 3).
# Install it as /usr/local/sbin/rtkvm-host.sh (mode 0755): rtkvm-host.service runs it as
# root at every boot, before irqbalance and libvirt start.
# Huge pages of @HUMAN@: @PLAN@.
%runtime%# This kernel cannot reserve different counts per node at boot, so the command line
%runtime%# reserves the even part and this script sets each node's count, compacting memory
%runtime%# and retrying when a node falls short.
%boot%# The kernel command line reserves them at boot; this script checks every node.
%full%# It also raises the per-CPU kernel threads above the vCPUs (priority @VCPU_PRIO@), sets the
%full%# performance frequency governor on the isolated CPUs and keeps irqbalance off them.

set -u
size_kb=@SIZE_KB@
%full%isolated=@ISOLATED@
status=0

pages_file() {
  echo "/sys/devices/system/node/node$1/hugepages/hugepages-${size_kb}kB/nr_hugepages"
}

%runtime%# reserve NODE COUNT: sets the node's pool to COUNT pages; when it gets fewer, compacts
%runtime%# memory and tries again, 5 times in all.
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
    echo "node $1: this host has no NUMA node $1; was the plan made for this host?" >&2
    status=1
    return
  fi
  if [ ! -r "$file" ]; then
    echo "node $1: the kernel offers no pages of @HUMAN@ ($file is missing); check that /proc/cmdline has hugepagesz=@SIZE@ and that the host was rebooted after adding it" >&2
    status=1
    return
  fi
  got=$(cat "$file")
  if [ "$got" -lt "$2" ]; then
    echo "node $1: $got of $2 pages of @HUMAN@ reserved; free memory on the node (or reboot) and run this again" >&2
    status=1
  else
    echo "node $1: $got pages of @HUMAN@ reserved (planned $2)"
  fi
}

%full%# raise PATTERN PRIORITY: gives the kernel threads named PATTERN SCHED_FIFO PRIORITY.
%full%raise() {
%full%  for pid in $(pgrep "$1"); do
%full%    chrt -f -p "$2" "$pid" || status=1
%full%  done
%full%}
%full%
%full%# governor CPU: sets the performance governor where the CPU has frequency scaling.
%full%governor() {
%full%  file=/sys/devices/system/cpu/cpu$1/cpufreq/scaling_governor
%full%  if [ -w "$file" ] && ! echo performance > "$file"; then
%full%    echo "CPU $1: cannot set the performance governor" >&2
%full%    status=1
%full%  fi
%full%}
%full%
%runtime%@RESERVE@
@CHECK@
%full%
%full%# Kernel threads above the vCPUs; RCU's threads get @RCU_PRIO@ from rcutree.kthread_prio.
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
%full%# irqbalance 1.8 and later keep interrupts off the CPUs of this list; an older irqbalance
%full%# does not read it: stop it instead (systemctl disable --now irqbalance).
%full%for conf in /etc/sysconfig/irqbalance /etc/default/irqbalance; do
%full%  if [ -f "$conf" ] && ! grep -qx "IRQBALANCE_BANNED_CPULIST=$isolated" "$conf"; then
%full%    sed -i '/^IRQBALANCE_BANNED_CPULIST=/d' "$conf"
%full%    echo "IRQBALANCE_BANNED_CPULIST=$isolated" >> "$conf"
%full%  fi
%full%done
exit "$status"
