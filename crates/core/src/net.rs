//! Which addresses outbound requests may reach. One policy for every fetch the service makes on
//! an admin's say-so (crawler pages, JSON APIs, redirects): only public unicast addresses, so a
//! source cannot point the server at itself, its intranet or a cloud metadata endpoint.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// False for loopback, private, link-local, CGNAT, unspecified, multicast, broadcast, reserved,
/// documentation and benchmarking ranges, and for IPv6 forms that carry such an IPv4 address
/// (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        // 100.64.0.0/10 carrier-grade NAT, 192.0.0.0/24 IETF, 198.18.0.0/15 benchmarking,
        // 240.0.0.0/4 reserved.
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xfe) == 18)
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let embedded = |hi: usize| Ipv4Addr::new((s[hi] >> 8) as u8, s[hi] as u8, (s[hi + 1] >> 8) as u8, s[hi + 1] as u8);
    // ::a.b.c.d (deprecated IPv4-compatible) and 64:ff9b::/96 (NAT64) carry an IPv4 address.
    if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) {
        return !ip.is_loopback() && !ip.is_unspecified() && is_public_v4(embedded(6));
    }
    // 2002::/16 (6to4) embeds the IPv4 address in bits 16–47.
    if s[0] == 0x2002 {
        return is_public_v4(embedded(1));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0)) // Teredo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_in_every_spelling_are_not_public() {
        for ip in [
            "127.0.0.1", "127.1.2.3", "0.0.0.0", "0.1.2.3", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.254",
            "224.0.0.1", "255.255.255.255", "240.0.0.1", "192.0.0.8", "198.18.0.1", "192.0.2.1", "::1", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
            "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "2002:c0a8:101::1", "fd00::1", "fc00::1", "fe80::1", "fec0::1",
            "ff02::1", "2001:db8::1", "2001:0:4136:e378::1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))), "{ip}");
        }
        for ip in ["8.8.8.8", "223.5.5.5", "100.63.255.255", "100.128.0.1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2400:3200::1", "2001:4860::8888"] {
            assert!(is_public_ip(ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))), "{ip}");
        }
    }
}
