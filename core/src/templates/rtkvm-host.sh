#!/bin/sh
# The real-time KVM host's boot-time step, planned by rtkvm (recipe @RECIPE@). Install it as
# /usr/local/sbin/rtkvm-host.sh; rtkvm-host.service runs it at every boot.
# Huge pages of @HUMAN@: @PLAN@.
%runtime%# This kernel cannot reserve different counts per node at boot: each node's count is
%runtime%# set here, compacting memory and retrying when a node falls short.
%full%# It also raises the per-CPU kernel threads above the vCPUs (priority @VCPU_PRIO@), sets the
%full%# performance governor on the isolated CPUs and keeps irqbalance off them.
%idle%# It holds the isolated CPUs out of idle states, which this architecture enters without a
%idle%# command-line limit.
%r4%# It runs stalld below those kernel threads and keeps unbound workqueues on the housekeeping CPUs.
%rtcheck%# It checks that the running kernel is PREEMPT_RT.

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
%full%  if [ ! -e "$file" ]; then
%full%    no_cpufreq="$no_cpufreq $1"
%full%  elif ! echo performance > "$file"; then
%full%    status=1
%full%  fi
%full%}
%idle%
%idle%# idle CPU: only its shallowest idle state (snooze on POWER, WFI on aarch64), since a resume
%idle%# latency of "n/a" tolerates none (sysfs-devices-power); it costs the CPU its idle power savings.
%idle%idle() {
%idle%  file=/sys/devices/system/cpu/cpu$1/power/pm_qos_resume_latency_us
%idle%  if [ ! -e "$file" ] || ! echo n/a > "$file"; then
%idle%    echo "cpu$1: cannot hold it out of idle states ($file)" >&2
%idle%    status=1
%idle%  fi
%idle%}
%full%
%runtime%@RESERVE@
@CHECK@
%full%
%full%# RCU's threads get @RCU_PRIO@ from rcutree.kthread_prio.
%full%raise '^ksoftirqd/' @KSOFTIRQD_PRIO@
%rt%raise '^ktimers/' @KTIMERS_PRIO@
%full%no_cpufreq=""
%full%for range in $(echo "$isolated" | tr ',' ' '); do
%full%  cpu=${range%-*}
%full%  while [ "$cpu" -le "${range#*-}" ]; do
%full%    governor "$cpu"
%idle%    idle "$cpu"
%full%    cpu=$((cpu + 1))
%full%  done
%full%done
%full%if [ -n "$no_cpufreq" ]; then
%full%  echo "WARNING: no cpufreq governor on CPUs$no_cpufreq: no frequency driver is loaded, so the" >&2
%full%  echo "WARNING: frequency is the firmware's; set its power profile to maximum performance." >&2
%full%fi
%rtcheck%
%rtcheck%# The plan is for a PREEMPT_RT kernel: say so loudly when this is not one.
%rtcheck%if [ "$(cat /sys/kernel/realtime 2>/dev/null)" != 1 ] && ! uname -v | grep -q PREEMPT_RT; then
%rtcheck%  echo "the running kernel $(uname -r) is not PREEMPT_RT: boot the RT kernel (see the runbook)" >&2
%rtcheck%  status=1
%rtcheck%fi
%r4%
%stalld%# stalld gives a kernel thread starved on an isolated CPU (by a vCPU that never yields, with RT
%stalld%# throttling off) a few microseconds. Its package starts it at SCHED_FIFO 10; this drop-in keeps
%stalld%# it at @STALLD_PRIO@, below ksoftirqd and rcuc, as the Node Tuning Operator's tests require.
%stalld%if command -v stalld >/dev/null 2>&1; then
%stalld%  dropin=/etc/systemd/system/stalld.service.d/rtkvm.conf
%stalld%  mkdir -p "${dropin%/*}"
%stalld%  cat > "$dropin.new" <<'DROPIN'
%stalld%[Service]
%stalld%ExecStartPost=
%stalld%ExecStartPost=/usr/bin/chrt -f -p @STALLD_PRIO@ $MAINPID
%stalld%DROPIN
%stalld%  if cmp -s "$dropin.new" "$dropin"; then
%stalld%    rm -f "$dropin.new"
%stalld%    systemctl --no-block start stalld.service || status=1
%stalld%  else
%stalld%    mv "$dropin.new" "$dropin"
%stalld%    systemctl daemon-reload
%stalld%    systemctl --no-block restart stalld.service || status=1
%stalld%  fi
%stalld%else
%stalld%  echo "stalld is not installed: dnf install stalld, or apt-get install stalld where the distribution has it (Debian packages none: build it from its source)" >&2
%stalld%  status=1
%stalld%fi
%r4%
%r4%# Unbound workqueues on the housekeeping CPUs, as tuned's realtime profile puts them.
%r4%for file in /sys/devices/virtual/workqueue/cpumask /sys/bus/workqueue/devices/writeback/cpumask; do
%r4%  if [ -w "$file" ] && ! echo @HK_MASK@ > "$file"; then
%r4%    status=1
%r4%  fi
%r4%done
%full%
%full%# irqbalance 1.8 and later read this list; stop an older one (systemctl disable --now irqbalance).
%full%for conf in /etc/sysconfig/irqbalance /etc/default/irqbalance; do
%full%  if [ -f "$conf" ] && ! grep -qx "IRQBALANCE_BANNED_CPULIST=$isolated" "$conf"; then
%full%    sed -i '/^IRQBALANCE_BANNED_CPULIST=/d' "$conf"
%full%    echo "IRQBALANCE_BANNED_CPULIST=$isolated" >> "$conf"
%full%  fi
%full%done
exit "$status"
