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

if command -v dnf >/dev/null 2>&1; then
  # RHEL, CentOS Stream, Rocky, Alma, Fedora. On RHEL the RT kernel comes from the Real Time
  # repository: subscription-manager repos --enable "rhel-$(rpm -E %rhel)-for-$(uname -m)-rt-rpms"
  dnf install -y kernel-rt tuned-profiles-realtime realtime-tests
  cat > /etc/tuned/realtime-virtual-guest-variables.conf <<'VARIABLES'
@TUNED@
VARIABLES
  # The profile puts the parameters on the command line of every kernel and tunes the guest at boot.
  tuned-adm profile realtime-virtual-guest
  rt_kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*rt*' | sort -V | tail -n 1)
  if [ -z "$rt_kernel" ]; then
    echo "no RT kernel in /boot: is the Real Time repository enabled?" >&2
    exit 1
  fi
  grubby --set-default "$rt_kernel"
elif command -v apt-get >/dev/null 2>&1; then
  # Debian: the PREEMPT_RT kernel is linux-image-rt-<arch>. Ubuntu: the real-time kernel comes with
  # Ubuntu Pro (pro enable realtime-kernel).
  if grep -q '^ID=ubuntu' /etc/os-release; then
    pro enable realtime-kernel
    apt-get install -y rt-tests
  else
    apt-get install -y "linux-image-rt-$(dpkg --print-architecture)" rt-tests
  fi
  mkdir -p /etc/default/grub.d
  # The grub file keeps $GRUB_CMDLINE_LINUX literally, for grub to expand.
  # shellcheck disable=SC2016
  printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' "$cmdline" > /etc/default/grub.d/rtkvm.cfg
  update-grub
  echo "Make the -rt kernel the default boot entry (grub-set-default, or GRUB_DEFAULT in /etc/default/grub)."
else
  echo "neither dnf nor apt-get: add to the guest kernel command line: $cmdline" >&2
  exit 1
fi

# irqbalance would move interrupts onto the real-time vCPUs; irqaffinity= keeps them off instead.
if systemctl is-enabled irqbalance >/dev/null 2>&1; then
  systemctl disable --now irqbalance
fi
echo "Reboot the guest, then check: cat /proc/cmdline (it should hold $cmdline)"
