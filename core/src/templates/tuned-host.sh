#!/bin/sh
# Applies rtkvm's real-time host plan with tuned's realtime-virtual-host profile, the way
# RHEL, CentOS Stream, AlmaLinux, Rocky and Fedora hosts are usually tuned: run it as root,
# then reboot. It writes tuned's variables and a profile, rtkvm-host, that includes
# realtime-virtual-host and adds what this plan needs: the kernel threads above the vCPUs
# and the plan's whole kernel command line (which replaces the parent profiles' own, so
# that tuned and rtkvm never disagree on it).
%runtime%# This kernel cannot reserve different huge page counts per node at boot: install
%runtime%# rtkvm-host.sh and rtkvm-host.service from the plan as well.
set -eu

dnf install -y tuned tuned-profiles-nfv-host

cat > /etc/tuned/realtime-virtual-host-variables.conf <<'END'
@VARIABLES@END

mkdir -p /etc/tuned/rtkvm-host
cat > /etc/tuned/rtkvm-host/tuned.conf <<'END'
@PROFILE@END

systemctl enable --now tuned
tuned-adm profile rtkvm-host
tuned-adm verify || true
echo "tuned applies rtkvm-host; reboot, then check the command line with: cat /proc/cmdline"
