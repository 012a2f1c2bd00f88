#!/bin/sh
# Prepares the guest's OS for real-time work, as tuned's realtime-virtual-guest profile does, planned by
# rtkvm. Run it as root inside the guest, then reboot the guest.
#   real-time vCPUs: @RT@ (isolated inside the guest)
#   housekeeping vCPUs: @HK@ (the guest's kernel threads, timers, interrupts and I/O)
set -eu

%none%# This guest has no real-time vCPU: nothing needs isolating inside it.
%nohk%# Every vCPU is real-time, as libvirt's guide does: the guest has no housekeeping vCPU, so nothing
%nohk%# can be isolated inside it (its kernel needs at least one vCPU for its own work). Choose
%nohk%# real-time vCPUs ^0 to keep vCPU 0 for it.
isolate=@ISOLATE@
if [ "$isolate" != yes ]; then
  echo "nothing to isolate in this guest (see the comments at the top of this script)" >&2
  exit 0
fi

# The parameters that tuned's realtime-virtual-guest profile puts on the guest kernel command line:
cmdline="@CMDLINE@"
# Whether tuned's profile applies it (dnf), or this script does (apt-get).
tuned=no

@RT_REPOS@
if command -v dnf >/dev/null 2>&1; then
  # RHEL, CentOS Stream, Rocky, AlmaLinux. tuned-profiles-nfv-guest holds the realtime-virtual-guest
  # profile (tuned.spec, %files profiles-nfv-guest) and pulls in tuned-profiles-realtime. cyclictest
  # and oslat are in realtime-tests on RHEL 9 and later, rt-tests on RHEL 8.
  enable_rt_repos
  if ! dnf install -y kernel-rt tuned-profiles-nfv-guest; then
    echo "kernel-rt and tuned-profiles-nfv-guest are not in this system's repositories ($os): RHEL, CentOS Stream, Rocky and AlmaLinux package them; elsewhere install a PREEMPT_RT kernel and add to its command line: $cmdline" >&2
    exit 1
  fi
  dnf install -y realtime-tests || dnf install -y rt-tests
  cat > /etc/tuned/realtime-virtual-guest-variables.conf <<'VARIABLES'
@TUNED@
VARIABLES
  # The profile puts the parameters on the command line of every kernel and tunes the guest at boot.
  tuned-adm profile realtime-virtual-guest
  tuned=yes
  rt_kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*rt*' | sort -V | tail -n 1)
  if [ -z "$rt_kernel" ]; then
    echo "no RT kernel in /boot, though kernel-rt is installed" >&2
    exit 1
  fi
  grubby --set-default "$rt_kernel"
elif command -v apt-get >/dev/null 2>&1; then
  # Debian: the PREEMPT_RT kernel is linux-image-rt-<arch>. Ubuntu: the real-time kernel comes with
  # Ubuntu Pro, on a guest attached to it (pro attach TOKEN); --assume-yes answers its question, so
  # that the script runs without a terminal too.
  apt-get update
  if grep -q '^ID=ubuntu' /etc/os-release; then
    pro enable realtime-kernel --assume-yes
    DEBIAN_FRONTEND=noninteractive apt-get install -y rt-tests
  else
    DEBIAN_FRONTEND=noninteractive apt-get install -y "linux-image-rt-$(dpkg --print-architecture)" rt-tests
  fi
  mkdir -p /etc/default/grub.d
  # The grub file keeps $GRUB_CMDLINE_LINUX literally, for grub to expand.
  # shellcheck disable=SC2016
  printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' "$cmdline" > /etc/default/grub.d/rtkvm.cfg
  update-grub
  # Without tuned, what its realtime-virtual-guest profile applies beside the command line: the
  # sysctl settings of its parents (realtime, network-latency) ...
  cat > /etc/sysctl.d/90-rtkvm-guest.conf <<'SYSCTL'
# Planned by rtkvm: what tuned's realtime-virtual-guest profile sets (with realtime and network-latency).
# No RT throttling, which would stop a busy real-time task 50 ms of every second.
kernel.sched_rt_runtime_us = -1
kernel.timer_migration = 0
vm.stat_interval = 10
kernel.hung_task_timeout_secs = 600
kernel.nmi_watchdog = 0
SYSCTL
  sysctl -p /etc/sysctl.d/90-rtkvm-guest.conf
  # ... and at every boot its kernel thread priorities (ksoftirqd and ktimers FIFO 2, rcuc and rcub
  # FIFO 4, above a real-time task at 1) and the workqueues on the housekeeping vCPUs.
  cat > /usr/local/sbin/rtkvm-guest.sh <<'SCRIPT'
#!/bin/sh
# The guest's boot-time step, planned by rtkvm: what tuned's realtime-virtual-guest profile does at boot.
status=0
raise() {
  for pid in $(pgrep "$1"); do
    chrt -f -p "$2" "$pid" || status=1
  done
}
raise '^ksoftirqd/' 2
raise '^ktimers/' 2
raise '^rcu[cb]/' 4
for file in /sys/devices/virtual/workqueue/cpumask /sys/bus/workqueue/devices/writeback/cpumask; do
  if [ -w "$file" ] && ! echo @HK_MASK@ > "$file"; then
    status=1
  fi
done
exit "$status"
SCRIPT
  chmod 0755 /usr/local/sbin/rtkvm-guest.sh
  cat > /etc/systemd/system/rtkvm-guest.service <<'UNIT'
[Unit]
Description=Real-time guest: kernel thread priorities and workqueues (rtkvm)
After=systemd-sysctl.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/rtkvm-guest.sh

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable rtkvm-guest.service
  echo "Make the -rt kernel the default boot entry (grub-set-default, or GRUB_DEFAULT in /etc/default/grub)."
else
  echo "neither dnf nor apt-get: add to the guest kernel command line: $cmdline" >&2
  exit 1
fi

# irqbalance would move interrupts onto the real-time vCPUs; irqaffinity= keeps them off instead.
if systemctl is-enabled irqbalance >/dev/null 2>&1; then
  systemctl disable --now irqbalance
fi
if [ "$tuned" = yes ]; then
  # tuned writes the command line from its profiles: before tuned 2.26 they lack
  # rcutree.nohz_full_patience_delay, before 2.21 rcupdate.rcu_normal_after_boot.
  echo "Reboot the guest, then check: tuned-adm verify, and cat /proc/cmdline (it holds $cmdline, but for what an older tuned does not write yet)"
else
  echo "Reboot the guest, then check: cat /proc/cmdline (it should hold $cmdline)"
fi
