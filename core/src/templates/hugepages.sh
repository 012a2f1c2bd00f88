#!/bin/sh
# Huge pages for real-time KVM guests, planned by rtkvm.
# Pages of @HUMAN@: @PLAN@.
# Boot-time reservation, on the kernel command line:
#   default_hugepagesz=@SIZE@ hugepagesz=@SIZE@ hugepages=@BOOT@
%runtime%# The kernel spreads boot-time pages evenly over the nodes, but these nodes need
%runtime%# different counts: run this script as root early in every boot (for example from
%runtime%# a systemd oneshot unit ordered Before=libvirtd.service) to set each node's count.
%gigantic%# Pages of 1 GiB or more reserved at runtime may fall short once memory is
%gigantic%# fragmented: the script reports any node that got fewer than planned.
%even%# Every node gets the same count from the boot-time reservation, so this script
%even%# only checks it; run it after booting with the new command line.

set -u
size_kb=@SIZE_KB@
status=0

pages_file() {
  echo "/sys/devices/system/node/node$1/hugepages/hugepages-${size_kb}kB/nr_hugepages"
}

%runtime%# reserve NODE COUNT: sets the node's pool to COUNT pages.
%runtime%reserve() {
%runtime%  if ! echo "$2" > "$(pages_file "$1")"; then
%runtime%    echo "node $1: cannot write $(pages_file "$1") (run as root)" >&2
%runtime%    status=1
%runtime%  fi
%runtime%}
%runtime%
# check NODE COUNT: reports whether the node holds COUNT pages.
check() {
  file=$(pages_file "$1")
  if [ ! -r "$file" ]; then
    echo "node $1: $file is missing: is hugepagesz=@SIZE@ on the kernel command line?" >&2
    status=1
    return
  fi
  got=$(cat "$file")
  if [ "$got" -lt "$2" ]; then
    echo "node $1: $got of $2 pages of @HUMAN@ reserved" >&2
    status=1
  else
    echo "node $1: $got pages of @HUMAN@ reserved (planned $2)"
  fi
}

%runtime%@RESERVE@
@CHECK@
exit "$status"
