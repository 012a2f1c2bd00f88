//! Reading an existing libvirt domain (`virsh dumpxml NAME`) for [`crate::check`] and
//! [`crate::apply`]: the document's elements through [`crate::xmltree`], and the few values both need
//! (vCPU count, memory, architecture, the CPU lists), read as libvirt reads them.

use crate::caps::{prepare, shorten};
use crate::cpuset::{CpuListError, CpuSet};
use crate::error::{Error, Position};
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
        Some("kvm" | "qemu") => Ok(doc),
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
        DomainFacts {
            name: root
                .child("name")
                .map(|n| n.trimmed().to_string())
                .unwrap_or_default(),
            vcpus: root
                .child("vcpu")
                .and_then(|v| v.trimmed().parse().ok())
                .unwrap_or(1),
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
/// keeps (passed-through USB devices, USB disks, hubs, smartcards, network redirection).
pub fn needs_usb(device: &Element) -> bool {
    match device.name {
        "hostdev" => device.attr("type") == Some("usb"),
        "redirdev" => device.attr("type") != Some("spicevmc"),
        "hub" | "smartcard" => true,
        "disk" => device.child("target").and_then(|t| t.attr("bus")) == Some("usb"),
        "controller" => device.attr("type") == Some("ccid"),
        _ => false,
    }
}
