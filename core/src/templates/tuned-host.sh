#!/bin/sh
# Applies rtkvm's host plan with tuned's realtime-virtual-host profile (RHEL, its rebuilds,
# Fedora): run it as root, then reboot. The profile rtkvm-host adds the kernel threads above
# the vCPUs and the plan's whole command line, which replaces the parent profiles' own.
%runtime%# This kernel cannot reserve huge pages per node at boot: install rtkvm-host.sh and
%runtime%# rtkvm-host.service as well.
set -eu
dnf install -y tuned tuned-profiles-nfv-host

cat > /etc/tuned/realtime-virtual-host-variables.conf <<'END'
@VARIABLES@END

mkdir -p /etc/tuned/rtkvm-host
cat > /etc/tuned/rtkvm-host/tuned.conf <<'END'
@PROFILE@END

systemctl enable --now tuned
tuned-adm profile rtkvm-host
echo "Reboot, then check the command line: cat /proc/cmdline"
