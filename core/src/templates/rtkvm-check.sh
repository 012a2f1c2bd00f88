#!/bin/sh
# rtkvm-check.sh, planned by rtkvm (recipe @RECIPE@): checks that this host runs the plan. Run it as
# root after the reboot, and again with the guests running; `rtkvm verify REPORT --link LINK` (the
# plan's link, in the bundle's README) reads its output back as the plan's checklist. One line per
# check: PASS, FAIL or SKIP, the check, what it found and what the plan expects. The exit status is the
# number of failures.
#   sh rtkvm-check.sh [--root DIR]     (--root DIR reads DIR/proc, DIR/sys and DIR/etc instead)
set -u
root=""
if [ "${1:-}" = "--root" ]; then
  root=${2:?--root needs a directory}
fi
fails=0

# report STATUS CHECK FOUND EXPECTED
report() {
  printf '%s %s | found: %s | expected: %s\n' "$1" "$2" "$3" "$4"
  if [ "$1" = FAIL ]; then
    fails=$((fails + 1))
  fi
}

# read_file FILE: its content on one line, or "missing".
read_file() {
  if [ -r "$root$1" ]; then
    tr '\n' ' ' < "$root$1" | sed 's/ *$//'
  else
    echo missing
  fi
}

# expand LIST: the CPUs of a cpulist (2-4,7), one per line.
expand() {
  list=$1
  while [ -n "$list" ]; do
    range=${list%%,*}
    case "$list" in
      *,*) list=${list#*,} ;;
      *) list="" ;;
    esac
    first=${range%-*}
    last=${range#*-}
    while [ "$first" -le "$last" ]; do
      echo "$first"
      first=$((first + 1))
    done
  done
}

# common LIST LIST: the CPUs the two cpulists share, space-separated.
common() {
  expand "$1" | sort > "$tmp/a"
  expand "$2" | sort > "$tmp/b"
  comm -12 "$tmp/a" "$tmp/b" | tr '\n' ' ' | sed 's/ *$//'
}

# outside LIST SET: the CPUs of the first cpulist that the second lacks, space-separated.
outside() {
  expand "$1" | sort > "$tmp/a"
  expand "$2" | sort > "$tmp/b"
  comm -23 "$tmp/a" "$tmp/b" | tr '\n' ' ' | sed 's/ *$//'
}

# mask_cpus MASK: the CPUs of a hexadecimal cpumask (3,00000003), as a cpulist of single CPUs.
mask_cpus() {
  hex=$(echo "$1" | tr -d ',')
  cpu=0
  out=""
  while [ -n "$hex" ]; do
    digit=$(printf '%d' "0x$(echo "$hex" | sed 's/.*\(.\)$/\1/')")
    hex=$(echo "$hex" | sed 's/.$//')
    bit=0
    while [ "$bit" -lt 4 ]; do
      if [ $((digit >> bit & 1)) -eq 1 ]; then
        out="$out,$((cpu + bit))"
      fi
      bit=$((bit + 1))
    done
    cpu=$((cpu + 4))
  done
  echo "${out#,}"
}

# same_cpus LIST LIST: whether two cpulists name the same CPUs.
same_cpus() {
  [ "$(expand "$1" | sort -n | tr '\n' ' ')" = "$(expand "$2" | sort -n | tr '\n' ' ')" ]
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

isolated="@ISOLATED@"
housekeeping="@HOUSEKEEPING@"
# The isolated CPUs between spaces, for `case` (the loops over every task below fork nothing, so
# that the script takes seconds, not minutes, on a host with hundreds of CPUs and thousands of tasks).
isolated_ids=" $(expand "$isolated" | tr '\n' ' ')"
# is_isolated CPU: whether the plan isolates CPU.
is_isolated() {
  case "$isolated_ids" in
    *" $1 "*) return 0 ;;
  esac
  return 1
}
echo "rtkvm-check 1 recipe @RECIPE@ plan @PLAN_ID@"

# The kernel command line: every parameter of the plan.
cmdline=" $(read_file /proc/cmdline) "
for param in @CMDLINE@; do
  case "$cmdline" in
    *" $param "*) report PASS "cmdline $param" present present ;;
    *) report FAIL "cmdline $param" absent present ;;
  esac
done

# The CPUs the kernel isolated, and those without a tick.
found=$(read_file /sys/devices/system/cpu/isolated)
if same_cpus "$found" "$isolated" 2>/dev/null; then
  report PASS isolated "$found" "$isolated"
else
  report FAIL isolated "$found" "$isolated"
fi
%nohz%found=$(read_file /sys/devices/system/cpu/nohz_full)
%nohz%if same_cpus "$found" "$isolated" 2>/dev/null; then
%nohz%  report PASS nohz_full "$found" "$isolated"
%nohz%else
%nohz%  report FAIL nohz_full "$found" "$isolated"
%nohz%fi

# Each node's huge pages: reserved, and how many are free.
# pages NODE COUNT
pages() {
  dir=/sys/devices/system/node/node$1/hugepages/hugepages-@SIZE_KB@kB
  nr=$(read_file "$dir/nr_hugepages")
  free=$(read_file "$dir/free_hugepages")
  if [ "$nr" != missing ] && [ "$nr" -ge "$2" ]; then
    report PASS "hugepages node $1" "$nr (free $free)" "$2"
  else
    report FAIL "hugepages node $1" "$nr (free $free)" "$2"
  fi
}
@PAGES@

%sysctl%# The sysctl settings of the plan.
%sysctl%# sysctl KEY VALUE
%sysctl%sysctl_is() {
%sysctl%  found=$(read_file "/proc/sys/$(echo "$1" | tr . /)")
%sysctl%  if [ "$found" = "$2" ]; then
%sysctl%    report PASS "sysctl $1" "$found" "$2"
%sysctl%  else
%sysctl%    report FAIL "sysctl $1" "$found" "$2"
%sysctl%  fi
%sysctl%}
@SYSCTLS@
%rt%
%rt%# A PREEMPT_RT kernel, as rtkvm-host.sh tells one: /sys/kernel/realtime is 1 (RHEL's kernel-rt), or
%rt%# the version uname -v prints says so (PREEMPT_RT; older RT patches printed PREEMPT RT).
%rt%found=$(read_file /proc/sys/kernel/version)
%rt%case "$found $(read_file /sys/kernel/realtime)" in
%rt%  *PREEMPT_RT* | *"PREEMPT RT"* | *" 1") report PASS "kernel PREEMPT_RT" "$found" PREEMPT_RT ;;
%rt%  *) report FAIL "kernel PREEMPT_RT" "$found" PREEMPT_RT ;;
%rt%esac

# Processes and threads by name: PID, or none.
pids_named() {
  for comm_file in "$root"/proc/[0-9]*/comm; do
    comm=""
    read -r comm 2>/dev/null < "$comm_file" || continue
    if [ "$comm" = "$1" ]; then
      dir=${comm_file%/comm}
      echo "${dir##*/}"
    fi
  done
}

# irqbalance stopped, or banned from the isolated CPUs. What the running daemon bans is in its own
# environment (systemd reads /etc/sysconfig/irqbalance or /etc/default/irqbalance into it when it
# starts; a file edited since counts only after a restart), else in those files: first
# IRQBALANCE_BANNED_CPUS (a hexadecimal mask, which irqbalance still reads first), then
# IRQBALANCE_BANNED_CPULIST (1.8 and later); with neither, irqbalance bans the CPUs the kernel
# isolated and those without a tick (its cputree.c, setup_banned_cpus).
# banned_in VARIABLE: its last value in the daemon's environment or files, without quotes.
banned_in() {
  sed -n "s/^$1=//p" "$tmp/irqbalance.env" | tail -n 1 | sed 's/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/'
}
pid=$(pids_named irqbalance | head -n 1)
if [ -z "$pid" ]; then
  report PASS irqbalance "not running" "not running, or banned from $isolated"
else
  if [ -r "$root/proc/$pid/environ" ]; then
    tr '\000' '\n' < "$root/proc/$pid/environ" > "$tmp/irqbalance.env"
    source="its environment"
  else
    cat "$root/etc/sysconfig/irqbalance" "$root/etc/default/irqbalance" > "$tmp/irqbalance.env" 2>/dev/null
    source="its configuration"
  fi
  mask=$(banned_in IRQBALANCE_BANNED_CPUS)
  banned=$(banned_in IRQBALANCE_BANNED_CPULIST)
  case "$mask" in
    "" | *[!0-9a-fA-Fx,]*) mask="" ;;
  esac
  if [ -n "$mask" ]; then
    banned=$(mask_cpus "${mask#0x}")
    source="IRQBALANCE_BANNED_CPUS in $source"
  elif [ -n "$banned" ]; then
    source="IRQBALANCE_BANNED_CPULIST in $source"
  else
    banned=$(read_file /sys/devices/system/cpu/isolated),$(read_file /sys/devices/system/cpu/nohz_full)
    banned=$(echo "$banned" | sed 's/missing//g; s/,,*/,/g; s/^,//; s/,$//')
    source="the kernel's isolated and nohz_full CPUs, as nothing sets a list"
  fi
  case "$banned" in
    "" | *[!0-9,-]*) covers=no ;;
    *) [ -z "$(outside "$isolated" "$banned")" ] && covers=yes || covers=no ;;
  esac
  if [ "$covers" = yes ]; then
    report PASS irqbalance "running, banned from $banned ($source)" "not running, or banned from $isolated"
  else
    report FAIL irqbalance "running, banned from ${banned:-none} ($source)" "not running, or banned from $isolated"
  fi
fi

# fired_on FILE: the interrupts /sys/kernel/irq/N/per_cpu_count (a count per CPU, by CPU id) counts on
# the isolated CPUs.
fired_on() {
  counts=""
  read -r counts 2>/dev/null < "$1"
  sum=0
  cpu=0
  rest=$counts,
  while [ -n "$rest" ]; do
    n=${rest%%,*}
    case "$n" in
      "" | *[!0-9]*) n=0 ;;
    esac
    if is_isolated "$cpu"; then
      sum=$((sum + n))
    fi
    rest=${rest#*,}
    cpu=$((cpu + 1))
  done
  echo "$sum"
}
# Interrupts: none may go to an isolated CPU (the effective affinity where the kernel shows it), but
# for two kinds that are meant to: a managed queue of an isolated CPU (a block or network queue per
# CPU, which isolcpus=managed_irq leaves there when its CPUs are all isolated and which fires only for
# I/O started on them: the kernel's kernel-parameters.txt), told by never having fired there; and a
# VFIO interrupt sent to a guest's vCPUs' CPUs, as the runbook says.
vcpu_cpus="@VCPU_CPUS@"
on_isolated=""
quiet=0
for dir in "$root"/proc/irq/[0-9]*; do
  [ -d "$dir" ] || continue
  file=$dir/effective_affinity_list
  [ -r "$file" ] || file=$dir/smp_affinity_list
  affinity=""
  read -r affinity 2>/dev/null < "$file" || continue
  touches=no
  for cpu in $(expand "$affinity"); do
    if is_isolated "$cpu"; then
      touches=yes
    fi
  done
  [ "$touches" = yes ] || continue
  irq=${dir##*/}
  sys=$root/sys/kernel/irq/$irq
  actions=""
  read -r actions 2>/dev/null < "$sys/actions"
  case "$actions" in
    vfio*) [ -z "$(outside "$affinity" "$vcpu_cpus")" ] && continue ;;
  esac
  if [ -r "$sys/per_cpu_count" ] && [ "$(fired_on "$sys/per_cpu_count")" -eq 0 ]; then
    quiet=$((quiet + 1))
    continue
  fi
  on_isolated="$on_isolated $irq"
done
if [ -z "$on_isolated" ]; then
  report PASS "irq affinity" "no IRQ on an isolated CPU (managed queues there that never fired: $quiet)" "no IRQ on $isolated"
else
  report FAIL "irq affinity" "IRQs$on_isolated on isolated CPUs" "no IRQ on $isolated"
fi
found=$(read_file /proc/irq/default_smp_affinity)
if [ "$found" != missing ] && [ -z "$(common "$(mask_cpus "$found")" "$isolated")" ]; then
  report PASS "irq default affinity" "$found" "no isolated CPU"
else
  report FAIL "irq default affinity" "$found" "no isolated CPU ($isolated)"
fi

# Unbound workqueues on the housekeeping CPUs.
found=$(read_file /sys/devices/virtual/workqueue/cpumask)
if [ "$found" = missing ]; then
  report SKIP "workqueue cpumask" missing "$housekeeping"
elif same_cpus "$(mask_cpus "$found")" "$housekeeping"; then
  report PASS "workqueue cpumask" "$found" "$housekeeping"
else
  report FAIL "workqueue cpumask" "$found" "$housekeeping"
fi

# Per-CPU kernel threads on the isolated CPUs above the vCPUs: SCHED_FIFO (policy 1) at the plan's
# priority or more. /proc/PID/stat: rt_priority is field 40, policy field 41.
# thread_prio PID: "POLICY PRIORITY".
thread_prio() {
  stat=""
  read -r stat 2>/dev/null < "$root/proc/$1/stat" || return 1
  # shellcheck disable=SC2086
  set -- ${stat##*) }
  shift 37
  echo "$2 $1"
}
%full%# kthreads PREFIX PRIORITY
%full%kthreads() {
%full%  low=""
%full%  seen=0
%full%  for comm_file in "$root"/proc/[0-9]*/comm; do
%full%    comm=""
%full%    read -r comm 2>/dev/null < "$comm_file" || continue
%full%    case "$comm" in
%full%      "$1"/*) ;;
%full%      *) continue ;;
%full%    esac
%full%    is_isolated "${comm#"$1"/}" || continue
%full%    dir=${comm_file%/comm}
%full%    seen=$((seen + 1))
%full%    # shellcheck disable=SC2046
%full%    set -- "$1" "$2" $(thread_prio "${dir##*/}")
%full%    if [ "${3:-0}" != 1 ] || [ "${4:-0}" -lt "$2" ]; then
%full%      low="$low $comm"
%full%    fi
%full%  done
%full%  if [ "$seen" -eq 0 ]; then
%full%    report SKIP "priority $1" "no $1 thread on the isolated CPUs" "SCHED_FIFO $2"
%full%  elif [ -z "$low" ]; then
%full%    report PASS "priority $1" "SCHED_FIFO $2 or more on the isolated CPUs" "SCHED_FIFO $2"
%full%  else
%full%    report FAIL "priority $1" "below SCHED_FIFO $2:$low" "SCHED_FIFO $2"
%full%  fi
%full%}
%full%kthreads ksoftirqd @KSOFTIRQD_PRIO@
%fullrt%kthreads ktimers @KTIMERS_PRIO@
%full%kthreads rcuc @RCU_PRIO@
%stalld%
%stalld%# stalld running at SCHED_FIFO below ksoftirqd and rcuc.
%stalld%pid=$(pids_named stalld | head -n 1)
%stalld%if [ -z "$pid" ]; then
%stalld%  report FAIL stalld "not running" "running, SCHED_FIFO @STALLD_PRIO@"
%stalld%else
%stalld%  # shellcheck disable=SC2046
%stalld%  set -- $(thread_prio "$pid")
%stalld%  if [ "${1:-0}" = 1 ] && [ "${2:-0}" -lt @KSOFTIRQD_PRIO@ ]; then
%stalld%    report PASS stalld "SCHED_FIFO ${2:-?}" "running, SCHED_FIFO @STALLD_PRIO@"
%stalld%  else
%stalld%    report FAIL stalld "policy ${1:-?} priority ${2:-?}" "running, SCHED_FIFO @STALLD_PRIO@"
%stalld%  fi
%stalld%fi

# The guests, once running: each vCPU thread ("CPU N/KVM") on its host CPU with its scheduler, and
# the emulator threads of its QEMU on their CPUs. A guest is found by its vCPUs' host CPUs.
# The vCPU threads of every QEMU process, read once: "ALLOWED PID TID" lines.
vcpus=""
for comm_file in "$root"/proc/[0-9]*/task/[0-9]*/comm; do
  comm=""
  read -r comm 2>/dev/null < "$comm_file" || continue
  case "$comm" in
    "CPU "*/KVM) ;;
    *) continue ;;
  esac
  task=${comm_file%/comm}
  allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$task/status")
  pid=${task%/task/*}
  vcpus="$vcpus$allowed ${pid##*/} ${task##*/}
"
done
# vcpu_thread CPU: "PID TID" of the vCPU thread pinned to host CPU CPU alone, if any.
vcpu_thread() {
  echo "$vcpus" | while read -r allowed pid tid; do
    if [ "$allowed" = "$1" ]; then
      echo "$pid $tid"
      break
    fi
  done
}
# The QEMU processes of the guests found, and their emulator CPUs that are isolated (emulator
# isolate): the "isolated CPUs" check below leaves those threads there.
qemus=" "
emulator_isolated=" "
# guest INDEX PINS RT_VCPUS POLICY PRIORITY EMULATORPIN: PINS and RT_VCPUS are space-separated.
guest() {
  index=$1 pins=$2 rt=$3 policy=$4 priority=$5 emulator=$6
  vcpu=0
  qemu=""
  for cpu in $pins; do
    found=$(vcpu_thread "$cpu")
    if [ -z "$found" ]; then
      if [ "$vcpu" -eq 0 ]; then
        report SKIP "guest $index" "no vCPU thread on host CPU $cpu (not running?)" "vCPU 0 on $cpu"
        return 0
      fi
      report FAIL "guest $index vCPU $vcpu" "no thread pinned to host CPU $cpu" "pinned to $cpu"
    else
      qemu=${found% *}
      tid=${found#* }
      # shellcheck disable=SC2046
      set -- $(thread_prio "$qemu/task/$tid")
      case " $rt " in
        *" $vcpu "*)
          if [ "${1:-0}" = "$policy" ] && [ "${2:-0}" = "$priority" ]; then
            report PASS "guest $index vCPU $vcpu" "host CPU $cpu, policy $1 priority $2" "host CPU $cpu, policy $policy priority $priority"
          else
            report FAIL "guest $index vCPU $vcpu" "host CPU $cpu, policy ${1:-?} priority ${2:-?}" "host CPU $cpu, policy $policy priority $priority"
          fi
          ;;
        *) report PASS "guest $index vCPU $vcpu" "host CPU $cpu" "host CPU $cpu" ;;
      esac
    fi
    vcpu=$((vcpu + 1))
  done
  [ -n "$qemu" ] || return 0
  qemus="$qemus$qemu "
  for cpu in $(expand "$emulator"); do
    if is_isolated "$cpu"; then
      emulator_isolated="$emulator_isolated$cpu "
    fi
  done
  # Its other threads: on the emulator CPUs, and not real-time (with real-time throttling off, one
  # that spins at a real-time priority starves the CPUs it shares).
  stray=""
  realtime=""
  for task in "$root/proc/$qemu/task"/[0-9]*; do
    case "$(cat "$task/comm" 2>/dev/null)" in
      "CPU "*/KVM) continue ;;
    esac
    allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$task/status")
    if [ -n "$(outside "$allowed" "$emulator")" ]; then
      stray="$stray ${task##*/}"
    fi
    # shellcheck disable=SC2046
    set -- $(thread_prio "$qemu/task/${task##*/}")
    case "${1:-0}" in
      1 | 2) realtime="$realtime ${task##*/}" ;;
    esac
  done
  if [ -n "$stray" ]; then
    report FAIL "guest $index emulator" "threads$stray off $emulator" "on $emulator"
  elif [ -n "$realtime" ]; then
    report FAIL "guest $index emulator" "threads$realtime at a real-time policy" "on $emulator, not real-time"
  else
    report PASS "guest $index emulator" "on $emulator" "on $emulator"
  fi
}
@GUESTS@

# Any other runnable thread on an isolated CPU: neither a vCPU, nor a per-CPU kernel thread, nor a
# guest's emulator thread on the isolated core the plan gives it.
others=""
for stat in "$root"/proc/[0-9]*/task/[0-9]*/stat; do
  line=""
  read -r line 2>/dev/null < "$stat" || continue
  name=${line#*(}
  name=${name%)*}
  # shellcheck disable=SC2086
  set -- ${line##*) }
  [ "$1" = R ] || continue
  shift 36
  cpu=$1
  case "$name" in
    "CPU "*/KVM | ksoftirqd/* | ktimers/* | rcuc/* | migration/* | cpuhp/* | kworker/* | idle_inject/*) continue ;;
  esac
  is_isolated "$cpu" || continue
  pid=${stat#"$root"/proc/}
  pid=${pid%%/*}
  case "$qemus" in
    *" $pid "*)
      case "$emulator_isolated" in
        *" $cpu "*) continue ;;
      esac
      ;;
  esac
  others="$others $name"
done
if [ -z "$others" ]; then
  report PASS "isolated CPUs" "no other runnable thread" "only vCPUs and per-CPU kernel threads"
else
  report FAIL "isolated CPUs" "runnable:$others" "only vCPUs and per-CPU kernel threads"
fi

echo "rtkvm-check end: $fails failed"
exit "$fails"
