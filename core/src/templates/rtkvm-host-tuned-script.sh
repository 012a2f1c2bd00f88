#!/bin/sh
# rtkvm-host/script.sh in tuned's directory of local profiles, planned by rtkvm (recipe 4). The
# profile's [script] has replace=1, so tuned runs this script instead of realtime-virtual-host's and
# realtime's: theirs writes "options kvm nx_huge_pages=0" (tuned's setup_kvm_mod_low_latency), which
# turns off KVM's iTLB multihit mitigation; rtkvm leaves it at the kernel's default (on only where
# the CPU is affected). The KVM parameters the profile needs are on the kernel command line.
# tuned calls it with start, stop or verify.

# tuned's own file from realtime-virtual-host, if that profile ran here before.
modprobe_file=/etc/modprobe.d/kvm.rt.tuned.conf

%x86%# expect FILE VALUE...: says whether the parameter in FILE holds one of the values.
%x86%expect() {
%x86%  file=$1
%x86%  shift
%x86%  [ -e "$file" ] || return 0
%x86%  got=$(cat "$file")
%x86%  for want in "$@"; do
%x86%    if [ "$got" = "$want" ]; then
%x86%      echo "  $file: $got: okay"
%x86%      return 0
%x86%    fi
%x86%  done
%x86%  echo "  $file: $got: expected $*"
%x86%  status=1
%x86%}
%x86%
case "${1:-}" in
  start)
    rm -f "$modprobe_file"
    ;;
  stop)
    ;;
  verify)
    status=0
%x86%    expect /sys/module/kvm/parameters/kvmclock_periodic_sync N 0
%intel%    expect /sys/module/kvm_intel/parameters/ple_gap 0
    if [ -e "$modprobe_file" ]; then
      echo "  $modprobe_file exists: tuned's realtime-virtual-host script ran; remove it"
      status=1
    fi
    exit "$status"
    ;;
esac
exit 0
