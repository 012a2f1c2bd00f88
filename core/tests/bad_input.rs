//! The catalogue of broken and hostile inputs: each one gets a specific error, never a panic, a hang or
//! a plan. The catalogue is also the document `docs/bad-input.md`; run with `RTKVM_BLESS=1` to rewrite it
//! after changing a message on purpose.

use rtkvm_core::existing::parse_domain;
use rtkvm_core::parse_capabilities_bytes;

fn caps(topology: &str) -> String {
    format!("<capabilities><host><cpu><arch>x86_64</arch></cpu><topology><cells num='1'>{topology}</cells></topology></host></capabilities>")
}

fn cell(id: &str, cpus: &str) -> String {
    format!(
        "<cell id='{id}'><memory unit='KiB'>33554432</memory><cpus num='2'>{cpus}</cpus></cell>"
    )
}

fn cpu(id: &str, siblings: &str) -> String {
    format!("<cpu id='{id}' socket_id='0' core_id='0' siblings='{siblings}'/>")
}

fn nested(depth: usize) -> String {
    format!(
        "<capabilities>{}{}</capabilities>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

/// Every case: a name for the document, the input, and the exact message.
fn catalogue() -> Vec<(&'static str, Vec<u8>)> {
    let good = String::from_utf8(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/seed-example.xml"
        ))
        .unwrap(),
    )
    .unwrap();
    let cut = |n: usize| good.as_bytes()[..n].to_vec();
    let utf16le: Vec<u8> = good.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let mut bom16 = vec![0xFF, 0xFE];
    bom16.extend_from_slice(&utf16le);
    let mut bom16be = vec![0xFE, 0xFF];
    bom16be.extend(good.encode_utf16().flat_map(|u| u.to_be_bytes()));
    let lol = "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol 'lol'>\n <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n]>\n<capabilities>&lol2;</capabilities>";
    let xxe = "<?xml version='1.0'?>\n<!DOCTYPE capabilities [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>\n<capabilities>&xxe;</capabilities>";
    let two_cpus = format!("{}{}", cpu("0", "0"), cpu("1", "1"));
    vec![
        ("empty input", b"".to_vec()),
        ("only whitespace", b"  \n\t\r\n ".to_vec()),
        ("binary (not UTF-8)", vec![0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0xff, 0xfe, 0x00]),
        ("binary with NUL bytes", vec![0u8; 64]),
        ("UTF-16 little-endian with BOM", bom16),
        ("UTF-16 big-endian with BOM", bom16be),
        ("UTF-16 without BOM", utf16le),
        ("a NUL byte inside the XML", b"<capabilities>\0</capabilities>".to_vec()),
        ("a 20 MiB paste", good.repeat(20 * 1024 * 1024 / good.len() + 1).into_bytes()),
        ("truncated in the first tag", cut(8)),
        ("truncated inside <host>", cut(good.find("<cells").unwrap())),
        ("truncated inside a <cpu> tag", cut(good.find("<cpu id='9'").unwrap() + 12)),
        ("truncated just before </capabilities>", cut(good.rfind("</capabilities>").unwrap())),
        ("entity-expansion bomb (billion laughs)", lol.as_bytes().to_vec()),
        ("external entity (XXE)", xxe.as_bytes().to_vec()),
        ("undeclared entity reference", b"<capabilities>&xxe;</capabilities>".to_vec()),
        ("invalid character reference", b"<capabilities>&#0;</capabilities>".to_vec()),
        ("100 000 nested elements", nested(100_000).into_bytes()),
        ("mismatched closing tag", b"<capabilities>\n  <host>\n    <cpu></host>\n</capabilities>".to_vec()),
        ("unclosed comment", b"<capabilities><!-- note".to_vec()),
        ("two documents pasted together", format!("{good}{good}").into_bytes()),
        ("shell prompt before the XML", format!("$ virsh capabilities\n{good}").into_bytes()),
        ("virsh domcapabilities output", b"<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n</domainCapabilities>".to_vec()),
        ("a domain XML", b"<domain type='kvm'><name>vm</name></domain>".to_vec()),
        ("a network XML", b"<network><name>default</name></network>".to_vec()),
        ("an unknown XML document", b"<inventory><item/></inventory>".to_vec()),
        ("an HTML page", b"<html><head><title>Login</title></head><body>Sign in</body></html>".to_vec()),
        ("an HTML page with a doctype", b"<!DOCTYPE html>\n<html><body>Sign in</body></html>".to_vec()),
        ("JSON", br#"{"host": {"cpus": 16}}"#.to_vec()),
        ("virsh nodeinfo output", b"CPU model:           x86_64\nCPU(s):              16\nCPU frequency:       2400 MHz\n".to_vec()),
        ("plain text", b"hello world".to_vec()),
        ("no <host>", b"<capabilities><guest><os_type>hvm</os_type></guest></capabilities>".to_vec()),
        ("no <topology>", b"<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>".to_vec()),
        ("<topology> without cells", b"<capabilities><host><topology/></host></capabilities>".to_vec()),
        ("cells without CPUs", caps("<cell id='0'><memory unit='KiB'>1024</memory><cpus num='0'/></cell>").into_bytes()),
        ("pre-1.0 CPUs with only ids", caps(&cell("0", "<cpu id='0'/><cpu id='1'/>")).into_bytes()),
        ("cell id not a number", caps(&cell("zero", &two_cpus)).into_bytes()),
        ("cell id missing", caps(&format!("<cell><cpus>{two_cpus}</cpus></cell>")).into_bytes()),
        ("negative CPU id", caps(&cell("0", &cpu("-1", "0"))).into_bytes()),
        ("CPU id that overflows", caps(&cell("0", &cpu("99999999999999999999", "0"))).into_bytes()),
        ("CPU id above the kernel's limit", caps(&cell("0", &cpu("70000", "70000"))).into_bytes()),
        ("CPU id with a fraction", caps(&cell("0", &cpu("1.5", "1"))).into_bytes()),
        ("memory not a number", caps("<cell id='0'><memory unit='KiB'>lots</memory><cpus><cpu id='0' socket_id='0' core_id='0' siblings='0'/></cpus></cell>").into_bytes()),
        ("memory in an unknown unit", caps("<cell id='0'><memory unit='parsecs'>3</memory><cpus><cpu id='0' socket_id='0' core_id='0' siblings='0'/></cpus></cell>").into_bytes()),
        ("memory that overflows in KiB", caps("<cell id='0'><memory unit='TiB'>99999999999999</memory><cpus><cpu id='0' socket_id='0' core_id='0' siblings='0'/></cpus></cell>").into_bytes()),
        ("page pool without a size", caps("<cell id='0'><pages unit='KiB'>3</pages><cpus><cpu id='0' socket_id='0' core_id='0' siblings='0'/></cpus></cell>").into_bytes()),
        ("duplicate CPU in one cell", caps(&cell("0", &format!("{}{}", cpu("0", "0"), cpu("0", "0")))).into_bytes()),
        ("duplicate CPU in two cells", caps(&format!("{}{}", cell("0", &cpu("0", "0")), cell("1", &cpu("0", "0")))).into_bytes()),
        ("duplicate cell", caps(&format!("{}{}", cell("0", &cpu("0", "0")), cell("0", &cpu("1", "1")))).into_bytes()),
        ("siblings naming an unknown CPU", caps(&cell("0", &cpu("0", "0,8"))).into_bytes()),
        ("siblings not a cpulist", caps(&cell("0", &cpu("0", "zero"))).into_bytes()),
        ("siblings range backwards", caps(&cell("0", &cpu("0", "5-0"))).into_bytes()),
        ("siblings without the CPU itself", caps(&cell("0", &format!("{}{}", cpu("0", "1"), cpu("1", "1")))).into_bytes()),
        ("siblings that disagree", caps(&cell("0", &format!("{}{}", cpu("0", "0-1"), cpu("1", "1")))).into_bytes()),
        ("siblings in another cell", caps(&format!("{}{}", cell("0", &cpu("0", "0-1")), cell("1", &cpu("1", "0-1")))).into_bytes()),
        ("CPU with socket_id only", caps(&cell("0", "<cpu id='0' socket_id='0'/>")).into_bytes()),
    ]
}

/// Every bad domain for `rtkvm check` and `rtkvm apply`: a name and the input.
fn domain_catalogue() -> Vec<(&'static str, Vec<u8>)> {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/domains/desktop-vm.xml"
    ))
    .unwrap();
    let deep = format!(
        "<domain type='kvm'><name>x</name><metadata>{}{}</metadata></domain>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    // The fuzzer's input that once aborted `rtkvm check` (one selector byte, then the domain).
    let billion = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/domain/guide-example-vcpus-1830598924.xml"
    ))
    .unwrap()[1..]
        .to_vec();
    let vcpu = "<vcpu placement=\"static\">4</vcpu>";
    let with_vcpu = |new: &str| good.replacen(vcpu, new, 1).into_bytes();
    let cells = format!(
        "{vcpu}<cpu><numa>{}</numa></cpu>",
        "<cell cpus='0' memory='1'/>".repeat(200)
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(good.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    vec![
        ("empty", b"".to_vec()),
        ("not XML", b"Id   Name     State\n 1   rt-vm    running\n".to_vec()),
        ("UTF-16", utf16),
        ("virsh capabilities instead of a domain", rtkvm_core::EXAMPLE_CAPABILITIES.as_bytes().to_vec()),
        ("a snapshot", b"<domainsnapshot><name>s1</name></domainsnapshot>".to_vec()),
        ("a network", b"<network><name>default</name></network>".to_vec()),
        ("a Xen domain", good.replacen("type=\"kvm\"", "type=\"xen\"", 1).into_bytes()),
        ("no domain type", good.replacen(" type=\"kvm\"", "", 1).into_bytes()),
        ("a DTD with entities", b"<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY x 'y'>]>\n<domain type='kvm'><name>&x;</name></domain>".to_vec()),
        ("an external entity", b"<!DOCTYPE d [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><domain type='kvm'>&xxe;</domain>".to_vec()),
        ("an unknown entity", b"<domain type='kvm'><name>&nope;</name></domain>".to_vec()),
        ("an unknown entity in an attribute", b"<domain type='kvm' id='&nope;'><name>x</name></domain>".to_vec()),
        ("a 17 MiB domain", good.replace("<!-- the plant network -->", &format!("<!-- {} -->", "x".repeat(17 << 20))).into_bytes()),
        ("nested 100 deep", deep.into_bytes()),
        ("cut off", good.as_bytes()[..good.len() / 2].to_vec()),
        ("two domains", format!("{good}{good}").into_bytes()),
        ("a tag left open", good.replacen("</devices>", "", 1).into_bytes()),
        ("a repeated attribute", b"<domain type='kvm' type='qemu'><name>x</name></domain>".to_vec()),
        ("1,830,598,924 vCPUs (libvirt's guide example)", billion),
        ("more vCPUs than a number holds", with_vcpu("<vcpu>99999999999999999999</vcpu>")),
        ("more current vCPUs than a guest can have", with_vcpu("<vcpu current='8192'>4</vcpu>")),
        ("a pin for vCPU 4294967295", with_vcpu(&format!("{vcpu}<cputune><vcpupin vcpu='4294967295' cpuset='2'/></cputune>"))),
        ("a scheduler for vCPUs up to 65535", with_vcpu(&format!("{vcpu}<cputune><vcpusched vcpus='0-65535' scheduler='fifo'/></cputune>"))),
        ("4 billion I/O threads", with_vcpu(&format!("{vcpu}<iothreads>4000000000</iothreads>"))),
        ("200 guest NUMA nodes", with_vcpu(&cells)),
    ]
}

/// Where the hand-written section of `docs/bad-input.md` starts.
const FUZZING: &str = "\n## Fuzzing\n";

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[test]
fn every_bad_input_gets_its_specific_message() {
    let cases = catalogue();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut doc = String::from(
        "# Broken and hostile input\n\nWhat rtkvm answers to input that is not usable `virsh capabilities` output. This table is\ngenerated by `core/tests/bad_input.rs`, which checks every message; the same text is shown in the\napp and printed by `rtkvm plan` (after `error: `, exit status 2).\n\n| input | message |\n|---|---|\n",
    );
    for (name, input) in &cases {
        let message = match parse_capabilities_bytes(input) {
            Ok(host) => panic!("{name} was accepted: {host:?}"),
            Err(e) => e.to_string(),
        };
        assert!(!message.is_empty());
        doc.push_str(&format!("| {name} | {} |\n", escape_cell(&message)));
    }
    doc.push_str("\n## Existing domains\n\nWhat `rtkvm check` and `rtkvm apply` answer to a domain they cannot read (after `error: FILE: `, exit\nstatus 2).\n\n| input | message |\n|---|---|\n");
    for (name, input) in domain_catalogue() {
        let message =
            match rtkvm_core::caps::decode(&input).and_then(|t| parse_domain(t).map(|_| ())) {
                Ok(()) => panic!("{name} was accepted"),
                Err(e) => e.to_string(),
            };
        doc.push_str(&format!("| {name} | {} |\n", escape_cell(&message)));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/bad-input.md");
    // The fuzzing section after the tables is written by hand (scripts/fuzz.sh's figures): kept as
    // it is, and not compared.
    let fuzzing = |text: &str| text.find(FUZZING).unwrap_or(text.len());
    if std::env::var_os("RTKVM_BLESS").is_some() {
        let stored = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, format!("{doc}{}", &stored[fuzzing(&stored)..])).unwrap();
    }
    let stored = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        &stored[..fuzzing(&stored)],
        doc,
        "docs/bad-input.md is out of date: rerun with RTKVM_BLESS=1 and review the diff"
    );
}
