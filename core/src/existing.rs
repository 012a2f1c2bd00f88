//! Reading an existing libvirt domain (`virsh dumpxml NAME`) for [`crate::check`] and
//! [`crate::apply`]: the document's elements through [`crate::xmltree`], and the few values both need
//! (vCPU count, memory, architecture, the CPU lists), read as libvirt reads them.

use crate::caps::{prepare, shorten};
use crate::cpuset::{CpuListError, CpuSet};
use crate::error::{Error, Position};
use crate::settings::{Named, Scheduler};
use crate::xmltree::{self, Document, Element};

/// Parses the text of a domain XML. Refuses what is not XML, not a domain, or a domain of another
/// hypervisor than KVM/QEMU, with the line and column where that shows.
pub fn parse_domain(text: &str) -> Result<Document<'_>, Error> {
    // Domain messages are `Invalid`: the site, which reads no domain, carries none of their text.
    let empty =
        Error::Invalid("the domain XML is empty: paste the output of `virsh dumpxml NAME`".into());
    let text = prepare(text, empty, &not_xml)?;
    let doc = xmltree::parse(text, &check_root)?;
    match doc.root.attr("type") {
        Some("kvm" | "qemu") => {
            check_limits(&doc)?;
            Ok(doc)
        }
        Some(other) => Err(not_a_domain(
            &format!("a domain for the '{}' hypervisor", shorten(other)),
            "rtkvm checks and patches KVM guests (<domain type='kvm'>)",
        )),
        None => Err(Error::Xml {
            position: doc.position(doc.root.span.start),
            message: "the <domain> element has no type attribute; libvirt requires one (kvm)"
                .into(),
        }),
    }
}

/// The most vCPUs a domain may have: QEMU's q35 machine takes at most 4096 CPUs (`max_cpus` in
/// `hw/i386/pc_q35.c` since QEMU 9.0, the largest of its KVM machines), and so does KVM on x86
/// (`KVM_MAX_VCPUS` with `CONFIG_MAXSMP`); libvirt refuses more than the machine takes. Every count
/// of vCPUs read from a domain is bounded by it, and every vCPU id by one less.
pub const MAX_VCPUS: u64 = 4096;

/// The most I/O threads a domain may have. libvirt sets no limit of its own (it allocates an entry
/// for each), but a guest with more I/O threads than it can have vCPUs is not one anybody runs, and
/// `rtkvm apply` pins each.
pub const MAX_IOTHREADS: u64 = MAX_VCPUS;

/// The most guest NUMA nodes (`<cpu><numa><cell>`): QEMU's `MAX_NODES` (128).
pub const MAX_GUEST_NODES: u64 = 128;

/// Refuses a domain whose counts no QEMU/KVM guest can have, before anything sizes a list or a loop by
/// them: a hostile `<vcpu>1830598924</vcpu>` would otherwise allocate a set for each of those vCPUs.
/// Each message names the element, the value, the limit and where the element is.
fn check_limits(doc: &Document<'_>) -> Result<(), Error> {
    const WHY_VCPUS: &str = "the most vCPUs a QEMU/KVM guest can have (QEMU's q35 machine and KVM on x86 both stop there; libvirt refuses more)";
    const WHY_ID: &str = "the largest vCPU id (a QEMU/KVM guest has at most 4096 vCPUs)";
    let root = &doc.root;
    let refuse = |el: &Element, subject: &str, predicate: String, limit: u64, why: &str| {
        Err(Error::Invalid(format!(
            "{subject} at {} {predicate}, more than {limit}, {why}",
            doc.position(el.span.start)
        )))
    };
    if let Some(vcpu) = root.child("vcpu") {
        let count = vcpu.trimmed();
        if let Some(n) = whole(count).filter(|&n| n > MAX_VCPUS) {
            let is = format!("is {}", shown(count, n));
            return refuse(vcpu, "<vcpu>", is, MAX_VCPUS, WHY_VCPUS);
        }
        let current = vcpu.attr("current").unwrap_or_default();
        if let Some(n) = whole(current).filter(|&n| n > MAX_VCPUS) {
            let subject = format!("<vcpu current='{}'>", shorten(current));
            let is = format!("is {}", shown(current, n));
            return refuse(vcpu, &subject, is, MAX_VCPUS, WHY_VCPUS);
        }
    }
    if let Some(t) = root.child("iothreads") {
        if let Some(n) = whole(t.trimmed()).filter(|&n| n > MAX_IOTHREADS) {
            let is = format!("is {}", shown(t.trimmed(), n));
            let why = "as many as a guest can have vCPUs";
            return refuse(t, "<iothreads>", is, MAX_IOTHREADS, why);
        }
    }
    // The elements that name vCPUs: each names vCPUs below the limit, and there are no more of them
    // than vCPUs (libvirt refuses two for one vCPU).
    if let Some(cputune) = root.child("cputune") {
        for (name, attr) in [("vcpupin", "vcpu"), ("vcpusched", "vcpus")] {
            let count = cputune.children_named(name).count() as u64;
            if count > MAX_VCPUS {
                let has = format!("has {count} <{name}> elements");
                let why = "one for each vCPU a QEMU/KVM guest can have";
                return refuse(cputune, "<cputune>", has, MAX_VCPUS, why);
            }
            for el in cputune.children_named(name) {
                let value = el.attr(attr).unwrap_or_default();
                let largest = match name {
                    "vcpupin" => whole(value),
                    _ => parse_libvirt_cpuset(value)
                        .ok()
                        .and_then(|s| s.iter().last())
                        .map(u64::from),
                };
                if let Some(id) = largest.filter(|&id| id >= MAX_VCPUS) {
                    let subject = format!("<{name} {attr}='{}'>", shorten(value));
                    let names = format!("names vCPU {}", shown(value, id));
                    return refuse(el, &subject, names, MAX_VCPUS - 1, WHY_ID);
                }
            }
        }
    }
    if let Some(numa) = root.at(&["cpu", "numa"]) {
        let count = numa.children_named("cell").count() as u64;
        if count > MAX_GUEST_NODES {
            let has = format!("has {count} <cell> elements");
            let why = "the most NUMA nodes QEMU gives a guest";
            return refuse(numa, "<numa>", has, MAX_GUEST_NODES, why);
        }
    }
    if let Some(hugepages) = root.at(&["memoryBacking", "hugepages"]) {
        let count = hugepages.children_named("page").count() as u64;
        if count > MAX_GUEST_NODES + 1 {
            let has = format!("has {count} <page> elements");
            let why = "one for each NUMA node QEMU gives a guest (128) and one for the rest";
            return refuse(hugepages, "<hugepages>", has, MAX_GUEST_NODES + 1, why);
        }
    }
    Ok(())
}

/// Reads a whole number as Rust's `u32` parser does (an optional `+`, then digits); digits too many
/// for a `u64` read as `u64::MAX`. `None` for anything else.
fn whole(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

/// Writes a number read by [`whole`]: as written when it overflowed, so that the message shows it.
fn shown(text: &str, n: u64) -> String {
    if n == u64::MAX {
        shorten(text.trim())
    } else {
        n.to_string()
    }
}

fn not_xml(text: &str) -> Error {
    let start = text.trim_start();
    Error::Xml {
        position: Position::from_offset(text, text.len() - start.len()),
        message: format!(
            "'{}' is not XML; paste the output of `virsh dumpxml NAME`, which starts with <domain",
            shorten(start)
        ),
    }
}

fn check_root(name: &str) -> Result<(), Error> {
    let what = match name {
        "domain" => return Ok(()),
        "capabilities" => "the output of `virsh capabilities`",
        "domainCapabilities" => "the output of `virsh domcapabilities`",
        "domainsnapshot" => "a snapshot",
        _ => {
            return Err(not_a_domain(
                &format!("an XML document whose root is <{}>", shorten(name)),
                "a domain's root is <domain>; paste the output of `virsh dumpxml NAME`",
            ))
        }
    };
    Err(not_a_domain(
        what,
        "paste the output of `virsh dumpxml NAME` (the host's capabilities go with --caps)",
    ))
}

fn not_a_domain(what: &str, hint: &str) -> Error {
    Error::Invalid(format!("this is {what}, not a KVM domain; {hint}"))
}

/// The domain's `<cputune><vcpupin>` elements that name a vCPU and a CPU list libvirt reads, each with
/// that vCPU and its CPUs; a pin either attribute of which does not read is left out.
pub(crate) fn vcpupins<'e>(
    root: &'e Element<'e>,
) -> impl Iterator<Item = (&'e Element<'e>, u32, CpuSet)> + 'e {
    root.child("cputune")
        .into_iter()
        .flat_map(|t| t.children_named("vcpupin"))
        .filter_map(|pin| {
            let vcpu = pin.attr("vcpu")?.trim().parse::<u32>().ok()?;
            let set = parse_libvirt_cpuset(pin.attr("cpuset")?).ok()?;
            Some((pin, vcpu, set))
        })
}

/// Parses a libvirt CPU list, which may exclude CPUs with `^` (`0-7,^3`).
pub fn parse_libvirt_cpuset(text: &str) -> Result<CpuSet, CpuListError> {
    let (excluded, included): (Vec<&str>, Vec<&str>) =
        text.split(',').partition(|e| e.trim().starts_with('^'));
    let mut set: CpuSet = included.join(",").parse()?;
    for e in excluded {
        let gone: CpuSet = e.trim()[1..].parse()?;
        set = set.difference(&gone);
    }
    if set.is_empty() {
        return Err(CpuListError::Empty);
    }
    Ok(set)
}

/// Converts a libvirt amount and unit to KiB, as libvirt scales them: `KB`, `MB` … are powers of
/// 1000, `k`, `KiB`, `M`, `MiB` … powers of 1024; no unit is KiB.
pub fn libvirt_kib(amount: &str, unit: Option<&str>) -> Option<u64> {
    let amount: u64 = amount.trim().parse().ok()?;
    let bytes: u128 = match unit.unwrap_or("KiB") {
        "b" | "byte" | "bytes" => 1,
        "KB" => 1000,
        "k" | "K" | "KiB" => 1024,
        "MB" => 1000u128.pow(2),
        "m" | "M" | "MiB" => 1024u128.pow(2),
        "GB" => 1000u128.pow(3),
        "g" | "G" | "GiB" => 1024u128.pow(3),
        "TB" => 1000u128.pow(4),
        "t" | "T" | "TiB" => 1024u128.pow(4),
        _ => return None,
    };
    u64::try_from(u128::from(amount) * bytes / 1024).ok()
}

/// The values of an existing domain that checking and patching read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFacts {
    /// The domain name.
    pub name: String,
    /// The vCPU count (`<vcpu>`; libvirt's default is 1).
    pub vcpus: u32,
    /// The memory in KiB (`<memory>`), if readable.
    pub memory_kib: Option<u64>,
    /// The guest architecture (`<os><type arch>`), if given.
    pub arch: Option<String>,
    /// The host node the memory is bound to, when `<numatune><memory>` names exactly one.
    pub node: Option<u32>,
    /// Each vCPU's host CPUs from `<cputune><vcpupin>` (index = vCPU; `None` where unpinned or
    /// unreadable).
    pub vcpupin: Vec<Option<CpuSet>>,
    /// The emulator threads' host CPUs from `<cputune><emulatorpin>`, if given.
    pub emulatorpin: Option<CpuSet>,
    /// The vCPUs' real-time scheduling from `<cputune><vcpusched>`, when it gives one.
    pub vcpusched: Option<VcpuScheduling>,
}

/// The real-time scheduling an existing domain gives its vCPUs: one policy and priority for every
/// vCPU its `<vcpusched>` elements name, each of which the domain has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuScheduling {
    /// The vCPUs with the real-time scheduler.
    pub vcpus: CpuSet,
    /// Their policy.
    pub scheduler: Scheduler,
    /// Their priority, 1 to 99.
    pub priority: u32,
}

/// Reads the `<vcpusched>` elements of a `<cputune>` as one [`VcpuScheduling`]; `None` when there
/// is none, or when they differ in policy or priority, use another policy, or name a vCPU the
/// domain of `vcpus` vCPUs does not have (libvirt's guide's `vcpus='0-4'` on 4 vCPUs).
fn read_vcpusched(cputune: &Element, vcpus: u32) -> Option<VcpuScheduling> {
    let mut found: Option<VcpuScheduling> = None;
    for e in cputune.children_named("vcpusched") {
        let name = e.attr("scheduler")?.trim();
        let scheduler = *Scheduler::ALL.iter().find(|s| s.as_str() == name)?;
        let priority = e
            .attr("priority")?
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|p| (1..=99).contains(p))?;
        let named = match e.attr("vcpus") {
            Some(list) => parse_libvirt_cpuset(list).ok()?,
            None => (0..vcpus).collect(),
        };
        if named.is_empty() || named.iter().any(|v| v >= vcpus) {
            return None;
        }
        match &mut found {
            None => {
                found = Some(VcpuScheduling {
                    vcpus: named,
                    scheduler,
                    priority,
                })
            }
            Some(f) if f.scheduler == scheduler && f.priority == priority => {
                f.vcpus.extend_from(&named)
            }
            Some(_) => return None,
        }
    }
    found
}

impl DomainFacts {
    /// Reads the facts from a parsed domain.
    pub fn read(doc: &Document<'_>) -> DomainFacts {
        let root = &doc.root;
        let node = root
            .at(&["numatune", "memory"])
            .and_then(|m| m.attr("nodeset"))
            .and_then(|s| parse_libvirt_cpuset(s).ok())
            .filter(|s| s.len() == 1)
            .and_then(|s| s.first());
        let vcpus: u32 = root
            .child("vcpu")
            .and_then(|v| v.trimmed().parse().ok())
            .unwrap_or(1);
        let cputune = root.child("cputune");
        // parse_domain bounds the vCPUs, so this vector is small.
        let mut vcpupin: Vec<Option<CpuSet>> = vec![None; vcpus as usize];
        for (_, vcpu, set) in vcpupins(root) {
            if let Some(slot) = vcpupin.get_mut(vcpu as usize) {
                *slot = Some(set);
            }
        }
        let emulatorpin = cputune
            .and_then(|t| t.child("emulatorpin"))
            .and_then(|e| e.attr("cpuset"))
            .and_then(|s| parse_libvirt_cpuset(s).ok());
        DomainFacts {
            vcpupin,
            emulatorpin,
            vcpusched: cputune.and_then(|t| read_vcpusched(t, vcpus)),
            name: root
                .child("name")
                .map(|n| n.trimmed().to_string())
                .unwrap_or_default(),
            vcpus,
            memory_kib: root
                .child("memory")
                .and_then(|m| libvirt_kib(m.trimmed(), m.attr("unit"))),
            arch: root
                .at(&["os", "type"])
                .and_then(|t| t.attr("arch"))
                .map(str::to_string),
            node,
        }
    }

    /// Returns whether the guest is x86 (`None` when the domain does not say).
    pub fn is_x86(&self) -> Option<bool> {
        self.arch.as_deref().map(|a| matches!(a, "x86_64" | "i686"))
    }
}

/// Returns whether an element is one of the USB devices that need a USB controller and that rtkvm
/// keeps: passed-through USB devices, USB disks, hubs, smartcards, network redirection, USB serial
/// ports, and any other kept device on a USB address. libvirt refuses a domain whose USB controller
/// is `none` while such a device is left.
pub fn needs_usb(device: &Element) -> bool {
    let spice = matches!(device.attr("type"), Some("spicevmc" | "spiceport"));
    match device.name {
        "hostdev" => device.attr("type") == Some("usb"),
        "redirdev" | "smartcard" => !spice,
        "hub" => true,
        "disk" => device.child("target").and_then(|t| t.attr("bus")) == Some("usb"),
        "controller" => device.attr("type") == Some("ccid"),
        "serial" | "console" => {
            !spice && device.child("target").and_then(|t| t.attr("type")) == Some("usb-serial")
        }
        // rtkvm removes these (an input on USB only with the USB controller).
        "input" | "sound" | "audio" | "graphics" | "memballoon" => false,
        _ => device.child("address").and_then(|a| a.attr("type")) == Some("usb"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libvirt's guide example, as in `fuzz/regressions/domain/guide-example.xml`, with `vcpu` for its
    /// vCPU count and `cputune` for its `<cputune>`.
    fn guide(vcpu: &str, cputune: &str) -> String {
        format!(
            "<domain type='kvm'>\n  <name>rt-guide-example</name>\n  <memory unit='GiB'>16</memory>\n  {vcpu}\n  <cputune>{cputune}</cputune>\n</domain>\n"
        )
    }

    fn refused(text: &str) -> String {
        parse_domain(text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn counts_no_guest_can_have_are_refused_with_their_place() {
        let pins = "<vcpupin vcpu='0' cpuset='12'/>";
        // The fuzzer's input: `rtkvm check` without --caps allocated a set for each of these vCPUs.
        assert_eq!(
            refused(&guide("<vcpu placement='static'>1830598924</vcpu>", pins)),
            "<vcpu> at line 4, column 3 is 1830598924, more than 4096, the most vCPUs a QEMU/KVM guest can have (QEMU's q35 machine and KVM on x86 both stop there; libvirt refuses more)"
        );
        assert!(
            refused(&guide("<vcpu>99999999999999999999999</vcpu>", pins)).starts_with(
                "<vcpu> at line 4, column 3 is 99999999999999999999999, more than 4096"
            )
        );
        assert!(refused(&guide("<vcpu current='5000'>4</vcpu>", pins))
            .starts_with("<vcpu current='5000'> at line 4, column 3 is 5000, more than 4096"));
        assert_eq!(
            refused(&guide("<vcpu>4</vcpu>", "\n    <vcpupin vcpu='4294967295' cpuset='1'/>")),
            "<vcpupin vcpu='4294967295'> at line 6, column 5 names vCPU 4294967295, more than 4095, the largest vCPU id (a QEMU/KVM guest has at most 4096 vCPUs)"
        );
        assert!(refused(&guide(
            "<vcpu>4</vcpu>",
            "<vcpusched vcpus='0-4096' scheduler='fifo'/>"
        ))
        .starts_with(
            "<vcpusched vcpus='0-4096'> at line 5, column 12 names vCPU 4096, more than 4095"
        ));
        let many = "<vcpupin vcpu='0' cpuset='1'/>".repeat(4097);
        assert!(refused(&guide("<vcpu>4</vcpu>", &many)).starts_with(
            "<cputune> at line 5, column 3 has 4097 <vcpupin> elements, more than 4096"
        ));
        let threads = "<domain type='kvm'><iothreads>4000000000</iothreads></domain>";
        assert!(refused(threads)
            .starts_with("<iothreads> at line 1, column 20 is 4000000000, more than 4096"));
        let cells = format!(
            "<domain type='kvm'><cpu><numa>{}</numa></cpu></domain>",
            "<cell id='0' cpus='0' memory='1'/>".repeat(129)
        );
        assert!(refused(&cells)
            .starts_with("<numa> at line 1, column 25 has 129 <cell> elements, more than 128"));
        let pages = format!(
            "<domain type='kvm'><memoryBacking><hugepages>{}</hugepages></memoryBacking></domain>",
            "<page size='2048' nodeset='0-65535'/>".repeat(130)
        );
        assert!(refused(&pages).starts_with(
            "<hugepages> at line 1, column 35 has 130 <page> elements, more than 129"
        ));
    }

    #[test]
    fn the_largest_counts_are_read_and_checked() {
        // 4096 vCPUs, each pinned to 4096 host CPUs, and all of them named by vcpusched: the check
        // keeps one set of host CPUs, not one per vCPU (one per vCPU of every CPU id there is, 0-65535,
        // would be a GiB).
        let pins: String = (0..4096)
            .map(|v| format!("<vcpupin vcpu='{v}' cpuset='0-4095'/>"))
            .collect();
        let text = guide(
            "<vcpu cpuset='0-65535' current='4096'>4096</vcpu>",
            &format!("{pins}<vcpusched vcpus='0-4095' scheduler='fifo' priority='1'/>"),
        );
        let doc = parse_domain(&text).unwrap();
        assert_eq!(DomainFacts::read(&doc).vcpus, 4096);
        let report = crate::check::check(&doc, None, None);
        assert!(report
            .findings
            .iter()
            .any(|f| f.code == crate::check::FindingCode::VcpuPinnedToSet));
        let unpinned = guide("<vcpu cpuset='0-65535'>4096</vcpu>", "");
        crate::check::check(&parse_domain(&unpinned).unwrap(), None, None);
    }
}
