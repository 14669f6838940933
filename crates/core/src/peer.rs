//! Who is on the other end of a loopback TCP connection. Unix sockets say it themselves
//! (SO_PEERCRED); for TCP on Linux the kernel's socket table (`/proc/net/tcp`, `tcp6`) lists
//! each socket with the uid that owns it, as identd has always read it.

use std::net::{IpAddr, SocketAddr};

/// Whether the process at `peer` (connected to our `local` address) runs as this user.
/// `None` when it cannot be told (not Linux, or the socket is gone from the table).
pub fn same_user(peer: SocketAddr, local: SocketAddr) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        let uid = owner(peer, local)?;
        Some(uid == crate::agent::private_dir::my_uid())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (peer, local);
        None
    }
}

#[cfg(target_os = "linux")]
fn hex_addr(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(ip.octets()),
            addr.port()
        ),
        IpAddr::V6(ip) => {
            let o = ip.octets();
            let words: String = o
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            format!("{words}:{:04X}", addr.port())
        }
    }
}

/// The uid owning the socket whose local address is `peer` and remote address `local`.
#[cfg(target_os = "linux")]
fn owner(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let table = match peer.ip() {
        IpAddr::V4(_) => "/proc/net/tcp",
        IpAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    let (want_local, want_remote) = (hex_addr(peer), hex_addr(local));
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&want_local.as_str())
            && fields.get(2) == Some(&want_remote.as_str()))
        .then(|| fields.get(7)?.parse().ok())
        .flatten()
    })
}

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
        assert_eq!(same_user(peer, local), Some(true));
        let nobody = SocketAddr::from(([127, 0, 0, 1], 1));
        assert_eq!(same_user(nobody, local), None, "no such socket");
    }
}
