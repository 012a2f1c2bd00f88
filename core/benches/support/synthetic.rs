//! Deterministic synthetic `virsh capabilities` documents for benchmarks: large two-socket SMT2 hosts
//! with Linux-style numbering (thread siblings k and k + N/2), several NUMA nodes per socket, per-node
//! memory and page pools, distances, and L3 cache banks, as libvirt 11 prints them.

use std::fmt::Write as _;

/// Returns the capabilities of a host with `cpus` logical CPUs (a multiple of 8): 2 sockets, SMT2, and
/// one NUMA node per 64 CPUs (at least 2).
pub fn synthetic_host(cpus: usize) -> String {
    assert!(
        cpus >= 8 && cpus.is_multiple_of(8),
        "cpus must be a multiple of 8"
    );
    let cores = cpus / 2;
    let nodes = (cpus / 64).max(2);
    let cores_per_node = cores / nodes;
    let nodes_per_socket = nodes / 2;
    let mut x = String::with_capacity(cpus * 160);
    x.push_str("<capabilities>\n\n  <host>\n    <uuid>4c4c4544-0051-3410-8057-b4c04f4d3232</uuid>\n    <cpu>\n      <arch>x86_64</arch>\n      <model>SapphireRapids</model>\n      <vendor>Intel</vendor>\n      <microcode version='726664503'/>\n      <signature family='6' model='143' stepping='8'/>\n      <counter name='tsc' frequency='2100000000' scaling='no'/>\n");
    let _ = writeln!(
        x,
        "      <topology sockets='2' dies='1' clusters='1' cores='{}' threads='2'/>",
        cores / 2
    );
    x.push_str("      <maxphysaddr mode='emulate' bits='46'/>\n");
    for f in [
        "ss",
        "vmx",
        "pdcm",
        "pcid",
        "tsc_adjust",
        "avx512f",
        "umip",
        "md-clear",
        "arch-capabilities",
    ] {
        let _ = writeln!(x, "      <feature name='{f}'/>");
    }
    x.push_str("      <pages unit='KiB' size='4'/>\n      <pages unit='KiB' size='2048'/>\n      <pages unit='KiB' size='1048576'/>\n    </cpu>\n    <power_management>\n      <suspend_mem/>\n    </power_management>\n    <iommu support='yes'/>\n    <topology>\n");
    let _ = writeln!(x, "      <cells num='{nodes}'>");
    let memory_kib: u64 = 256 * 1024 * 1024;
    for node in 0..nodes {
        let socket = node / nodes_per_socket;
        let _ = writeln!(x, "        <cell id='{node}'>");
        let _ = writeln!(x, "          <memory unit='KiB'>{memory_kib}</memory>");
        let _ = writeln!(
            x,
            "          <pages unit='KiB' size='4'>{}</pages>",
            memory_kib / 4
        );
        x.push_str("          <pages unit='KiB' size='2048'>0</pages>\n          <pages unit='KiB' size='1048576'>0</pages>\n          <distances>\n");
        for other in 0..nodes {
            let d = if other == node {
                10
            } else if other / nodes_per_socket == socket {
                12
            } else {
                21
            };
            let _ = writeln!(x, "            <sibling id='{other}' value='{d}'/>");
        }
        x.push_str("          </distances>\n");
        let _ = writeln!(x, "          <cpus num='{}'>", cores_per_node * 2);
        let mut ids: Vec<(usize, usize)> = Vec::new();
        for c in 0..cores_per_node {
            let core = node * cores_per_node + c;
            ids.push((core, core));
            ids.push((core + cores, core));
        }
        ids.sort_unstable();
        for (id, core) in ids {
            let local_core = core % (cores / 2);
            let _ = writeln!(
                x,
                "            <cpu id='{id}' socket_id='{socket}' die_id='0' cluster_id='65535' core_id='{local_core}' siblings='{core},{}'/>",
                core + cores
            );
        }
        x.push_str("          </cpus>\n        </cell>\n");
    }
    x.push_str("      </cells>\n    </topology>\n    <cache>\n");
    for node in 0..nodes {
        let first = node * cores_per_node;
        let last = first + cores_per_node - 1;
        let _ = writeln!(
            x,
            "      <bank id='{node}' level='3' type='both' size='105' unit='MiB' cpus='{first}-{last},{}-{}'/>",
            first + cores,
            last + cores
        );
    }
    x.push_str("    </cache>\n    <secmodel>\n      <model>selinux</model>\n      <doi>0</doi>\n      <baselabel type='kvm'>system_u:system_r:svirt_t:s0</baselabel>\n    </secmodel>\n  </host>\n\n  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <emulator>/usr/libexec/qemu-kvm</emulator>\n      <machine maxCpus='4096'>pc-q35-rhel9.4.0</machine>\n      <domain type='qemu'/>\n      <domain type='kvm'/>\n    </arch>\n    <features>\n      <acpi default='on' toggle='yes'/>\n      <apic default='on' toggle='no'/>\n    </features>\n  </guest>\n\n</capabilities>\n");
    x
}

/// Returns an existing domain of about `bytes` bytes: a desktop VM with real-time problems to check
/// and patch, made large by disks (each with its own driver, source, target and address), as a
/// storage-heavy guest of a few hundred disks is.
pub fn synthetic_domain(bytes: usize) -> String {
    let mut x = String::with_capacity(bytes + 4096);
    x.push_str("<domain type='kvm'>\n  <name>storage-heavy</name>\n  <uuid>6f2a5c0e-3d57-4c1b-9a8e-2f1d7b6c4e90</uuid>\n  <memory unit='KiB'>16777216</memory>\n  <currentMemory unit='KiB'>16777216</currentMemory>\n  <vcpu placement='static'>4</vcpu>\n  <os>\n    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n  <cpu mode='host-model' check='partial'/>\n  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n  </clock>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n");
    let mut n = 0usize;
    while x.len() < bytes {
        let _ = writeln!(
            x,
            "    <disk type='block' device='disk'>\n      <driver name='qemu' type='raw' cache='none' io='native'/>\n      <source dev='/dev/disk/by-id/wwn-0x5000c500a1b2{n:04x}'/>\n      <target dev='sd{n}' bus='scsi'/>\n      <address type='drive' controller='{}' bus='0' target='0' unit='{}'/>\n    </disk>",
            n / 256,
            n % 256
        );
        n += 1;
    }
    x.push_str("    <controller type='usb' index='0' model='qemu-xhci'/>\n    <input type='tablet' bus='usb'/>\n    <graphics type='vnc' port='-1'/>\n    <memballoon model='virtio'/>\n  </devices>\n</domain>\n");
    x
}
