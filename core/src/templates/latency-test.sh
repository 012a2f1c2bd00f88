#!/bin/sh
# Measures the guest's real-time latency, planned by rtkvm. Run it as root inside the guest, after the
# host and the guest are set up and rebooted (rt-tests provides cyclictest and oslat):
#   sh latency-test.sh [DURATION]
# runs cyclictest, then oslat, each for DURATION (12h by default, so 24 hours in all).
#   real-time vCPUs: @RT@ (one measuring thread each)
#   housekeeping vCPU @MAIN@: the tests' main thread
# Load the host at the same time, on its housekeeping CPUs only (@HOST_HK@, where this guest's
# emulator threads run), for example for the default 24 hours:
#   stress-ng --cpu @HOST_HK_COUNT@ --taskset @HOST_HK@ --timeout 24h
# Expect a maximum in the tens of microseconds over hours on a tuned host; hundreds of microseconds
# or milliseconds mean that something still runs on a real-time vCPU or its host core.
set -eu
%none%# This guest has no real-time vCPU: there is nothing to measure.
%nohk%# Every vCPU is real-time: there is no housekeeping vCPU for the tests' main thread; choose real-time
%nohk%# vCPUs ^0 to keep vCPU 0 for it.
isolate=@ISOLATE@
if [ "$isolate" != yes ]; then
  echo "this guest has no real-time vCPU beside a housekeeping one (see the comments at the top)" >&2
  exit 1
fi
duration=${1:-12h}

# Timer latency: a SCHED_FIFO thread per real-time vCPU wakes every 200 us; histogram up to 100 us.
cyclictest --mlockall --priority=95 --policy=fifo --interval=200 --distance=0 \
  --threads=@RT_COUNT@ --affinity=@RT@ --mainaffinity=@MAIN@ \
  --histogram=100 --duration="$duration" --quiet

# Interruptions of a busy loop, the way a polling real-time task sees them.
oslat --cpu-list @RT@ --rtprio 1 --duration "$duration"
