//! Who is on the other end of a loopback TCP connection. Unix sockets say it themselves
//! (SO_PEERCRED); for TCP on Linux the kernel's socket tables (`/proc/net/tcp`, `tcp6`) list
//! each socket with the uid that owns it, as identd has always read them.
//!
//! A connection to an IPv4 listener can come from an IPv6 socket, through the IPv4-mapped
//! address `::ffff:127.0.0.1`: the server sees a plain IPv4 peer, but the client's socket is
//! listed in `tcp6` under its mapped address. Both tables are read, in both spellings of each
//! address, so the peer is found whichever family it connected from; a peer that is found in
//! neither is [`Peer::Unknown`], and every local server refuses it ([`Peer::may_enter`]).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Who a local connection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A process of this user.
    ThisUser,
    /// A process of another user (its uid).
    OtherUser(u32),
    /// Not listed in the kernel's tables (or not Linux, where nothing can be read).
    Unknown,
}

impl Peer {
    /// Whether a local server of this user may answer it: this user's own processes only. On
    /// Linux a peer that cannot be identified is refused too (it could be anyone); on systems
    /// where no table can be read, every peer is `Unknown` and is let in (the servers' own
    /// tokens and one-time ids guard them there).
    pub fn may_enter(self) -> bool {
        match self {
            Self::ThisUser => true,
            Self::OtherUser(_) => false,
            Self::Unknown => !cfg!(target_os = "linux"),
        }
    }
}

/// This process's effective uid.
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Who is at `peer`, connected to our `local` address.
pub fn identify(peer: SocketAddr, local: SocketAddr) -> Peer {
    #[cfg(target_os = "linux")]
    {
        let tables = [
            std::fs::read_to_string("/proc/net/tcp").unwrap_or_default(),
            std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default(),
        ];
        match owner_in(&tables, peer, local) {
            Some(uid) if uid == my_uid() => Peer::ThisUser,
            Some(uid) => Peer::OtherUser(uid),
            None => Peer::Unknown,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (peer, local);
        Peer::Unknown
    }
}

/// The spellings an address can have in the kernel's tables: as it is, and as its IPv4-mapped
/// IPv6 form or the IPv4 address an IPv4-mapped one stands for.
fn spellings(addr: SocketAddr) -> Vec<SocketAddr> {
    let other = match addr.ip() {
        IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
    };
    std::iter::once(addr)
        .chain(other.map(|ip| SocketAddr::new(ip, addr.port())))
        .collect()
}

/// An address as `/proc/net/tcp{,6}` writes it: each 32-bit word in the machine's order, hex.
fn hex_addr(addr: SocketAddr) -> String {
    let words = |octets: &[u8]| -> String {
        octets
            .chunks(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    };
    match addr.ip() {
        IpAddr::V4(ip) => format!("{}:{:04X}", words(&ip.octets()), addr.port()),
        IpAddr::V6(ip) => format!("{}:{:04X}", words(&ip.octets()), addr.port()),
    }
}

/// The uid owning the socket whose local address is `peer` and remote address `local`, in
/// any of `tables` (the texts of `/proc/net/tcp` and `tcp6`), under either spelling.
fn owner_in(tables: &[String], peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let pairs: Vec<(String, String)> = spellings(peer)
        .into_iter()
        .flat_map(|p| {
            spellings(local)
                .into_iter()
                .filter(move |l| l.is_ipv4() == p.is_ipv4())
                .map(move |l| (hex_addr(p), hex_addr(l)))
        })
        .collect();
    tables
        .iter()
        .flat_map(|t| t.lines().skip(1))
        .find_map(|line| {
            // `sl local remote st tx:rx tr:when retrnsmt uid ...`
            let mut fields = line.split_ascii_whitespace();
            let (l, r) = (fields.nth(1)?, fields.next()?);
            if !pairs
                .iter()
                .any(|(want_l, want_r)| want_l == l && want_r == r)
            {
                return None;
            }
            fields.nth(4)?.parse().ok()
        })
}

/// `::ffff:127.0.0.1`, the IPv4 loopback as an IPv6 socket reaches it.
pub const MAPPED_LOOPBACK: Ipv6Addr = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001);

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_of_this_process_is_this_users() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let local = listener.local_addr().expect("addr");
        let _client = tokio::net::TcpStream::connect(local)
            .await
            .expect("connect");
        let (_server_side, peer) = listener.accept().await.expect("accept");
        assert_eq!(identify(peer, local), Peer::ThisUser);
        let nobody = SocketAddr::from(([127, 0, 0, 1], 1));
        assert_eq!(identify(nobody, local), Peer::Unknown, "no such socket");
        assert!(!Peer::Unknown.may_enter(), "on Linux, unknown is refused");
    }

    /// The IPv4-mapped way in: an IPv6 socket connecting to `[::ffff:127.0.0.1]` reaches an
    /// IPv4 listener, which sees a plain IPv4 peer; the client is listed in `tcp6` only.
    #[tokio::test]
    async fn a_connection_through_the_ipv4_mapped_address_is_identified() {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let local = listener.local_addr().expect("addr");
        let Ok(_client) =
            tokio::net::TcpStream::connect(SocketAddr::new(MAPPED_LOOPBACK.into(), local.port()))
                .await
        else {
            panic!("this machine has IPv6 sockets (the mapped address is how the attack came)");
        };
        let (_server_side, peer) = listener.accept().await.expect("accept");
        assert!(peer.is_ipv4(), "the listener sees {peer}");
        assert_eq!(identify(peer, local), Peer::ThisUser);
    }

    #[test]
    fn an_address_is_found_under_either_spelling() {
        let peer: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
        let local: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let mapped = |a: SocketAddr| match a.ip() {
            IpAddr::V4(v4) => SocketAddr::new(v4.to_ipv6_mapped().into(), a.port()),
            IpAddr::V6(_) => a,
        };
        let row = |l: SocketAddr, r: SocketAddr, uid: u32| {
            format!(
                "header\n   0: {} {} 01 00000000:00000000 00:00000000 00000000 {uid} 0 1 1\n",
                hex_addr(l),
                hex_addr(r)
            )
        };
        let v6_only = [String::new(), row(mapped(peer), mapped(local), 65534)];
        assert_eq!(owner_in(&v6_only, peer, local), Some(65534));
        let v4_only = [row(peer, local, 1000), String::new()];
        assert_eq!(owner_in(&v4_only, mapped(peer), mapped(local)), Some(1000));
        assert_eq!(owner_in(&v4_only, peer, mapped(local)), Some(1000));
        assert_eq!(owner_in(&[String::new(), String::new()], peer, local), None);
    }
}
