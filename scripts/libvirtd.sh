#!/usr/bin/env bash
# Starts or stops a libvirtd for the tests, so that every generated domain XML can also be defined
# with libvirt's real QEMU driver (`virsh -c qemu:///system define`), which is stricter than the test
# driver. scripts/setup.sh installs it (libvirt-daemon, the QEMU driver and emulators, and the users
# the driver runs as). Runs as root; machines without systemd are fine.
#   scripts/libvirtd.sh start   # starts one unless the QEMU driver already answers
#   scripts/libvirtd.sh stop    # stops the one this script started
set -euo pipefail
pidfile=/run/rtkvm-test-libvirtd.pid
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
answers() { timeout 10 virsh -c qemu:///system uri >/dev/null 2>&1; }
case "${1:-}" in
  start)
    # The driver probes each emulator as its own user, and keeps the result only if that user can
    # open /dev/kvm as the daemon can: udev grants the kvm group on a machine with systemd; where it
    # does not, every define would probe QEMU again (about 45 s).
    if [ -e /dev/kvm ] && getent group kvm >/dev/null; then
      $sudo chgrp kvm /dev/kvm && $sudo chmod 660 /dev/kvm
    fi
    if answers; then
      exit 0
    fi
    $sudo mkdir -p /var/log/libvirt /run/libvirt
    $sudo libvirtd --pid-file=/run/rtkvm-test-libvirtd-daemon.pid >/tmp/rtkvm-test-libvirtd.log 2>&1 &
    echo $! | $sudo tee "$pidfile" >/dev/null
    for _ in $(seq 1 60); do
      if answers; then
        exit 0
      fi
      sleep 0.5
    done
    echo "libvirtd did not answer within 30 s; its log:" >&2
    cat /tmp/rtkvm-test-libvirtd.log >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      $sudo kill "$(cat "$pidfile")" 2>/dev/null || true
      $sudo rm -f "$pidfile"
    fi
    ;;
  *)
    echo "usage: scripts/libvirtd.sh start|stop" >&2
    exit 2
    ;;
esac
