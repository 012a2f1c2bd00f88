#!/bin/sh
# Applies rtkvm's host plan with tuned's realtime-virtual-host profile (RHEL, its rebuilds,
# Fedora): run it as root, then reboot. The profile rtkvm-host adds the kernel threads above
# the vCPUs and the plan's whole command line, which replaces the parent profiles' own.
%runtime%# This kernel cannot reserve huge pages per node at boot: install rtkvm-host.sh and
%runtime%# rtkvm-host.service as well.
set -eu

@RT_REPOS@
enable_rt_repos
%r3%dnf install -y tuned tuned-profiles-nfv-host
%r4%# tuned-profiles-nfv-host holds realtime-virtual-host (tuned.spec, %files profiles-nfv-host).
%r4nostalld%dnf install -y tuned tuned-profiles-nfv-host
%r4full%dnf install -y tuned tuned-profiles-nfv-host stalld
%r4fullrt%# The PREEMPT_RT kernel and its KVM modules.
%r4fullrt%if ! dnf install -y kernel-rt kernel-rt-kvm; then
%r4fullrt%  echo "kernel-rt and kernel-rt-kvm are not in this system's repositories ($os): RHEL, CentOS Stream, Rocky and AlmaLinux package them; elsewhere install a PREEMPT_RT kernel with KVM" >&2
%r4fullrt%  exit 1
%r4fullrt%fi
%r4fullrt%rt_kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*rt*' | sort -V | tail -n 1)
%r4fullrt%if [ -z "$rt_kernel" ]; then
%r4fullrt%  echo "no RT kernel in /boot, though kernel-rt is installed" >&2
%r4fullrt%  exit 1
%r4fullrt%fi
%r4fullrt%grubby --set-default "$rt_kernel"

cat > /etc/tuned/realtime-virtual-host-variables.conf <<'END'
@VARIABLES@END

# tuned 2.25 and later keep local profiles in /etc/tuned/profiles where that directory exists
# (Fedora, RHEL 10); before, in /etc/tuned.
profiles=/etc/tuned
if [ -d /etc/tuned/profiles ]; then
  profiles=/etc/tuned/profiles
fi
mkdir -p "$profiles/rtkvm-host"
cat > "$profiles/rtkvm-host/tuned.conf" <<'END'
@PROFILE@END
%r4%cat > "$profiles/rtkvm-host/script.sh" <<'END'
%r4%@SCRIPT@END
%r4%chmod 0755 "$profiles/rtkvm-host/script.sh"

systemctl enable --now tuned
tuned-adm profile rtkvm-host
%r3%echo "Reboot, then check the command line: cat /proc/cmdline"
%r4%echo "Reboot, then check: cat /proc/cmdline; tuned-adm verify (it reads the running kernel's state)"
