//! Who else is connected to a vpcd port, from `/proc/net/tcp{,6}` and `/proc/*/fd` (Linux,
//! proc(5)); used to explain a link that vpcd never polls (issue 10: a slot held by a vpcd
//! client that is not a card-sim, so the slot lock of [`super::slot_lock`] cannot tell).
//!
//! vpcd accepts one client per port; later connections wait in its listen queue. In the
//! kernel's table an accepted connection's server side belongs to a socket (its inode is
//! not 0: pcscd holds it) while a queued one has none yet, so the client of the accepted
//! connection is the one that holds the slot. Its PID is the process with a descriptor on
//! that client socket's inode; descriptors of other users' processes are not readable,
//! and then only the user is known. Parsing is pure ([`parse_table`], [`holders`]); only
//! [`vpcd_holders`] reads `/proc`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `st` of an established connection in `/proc/net/tcp` (include/net/tcp_states.h).
const ESTABLISHED: u8 = 0x01;

/// One row of `/proc/net/tcp` or `/proc/net/tcp6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRow {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
    pub uid: u32,
    /// 0 for a connection no socket owns yet (queued, not accepted).
    pub inode: u64,
}

/// The client that holds a vpcd port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its end of the connection.
    pub endpoint: SocketAddr,
    /// Its user, when its socket is in this host's table.
    pub uid: Option<u32>,
    /// Its process, when its descriptors are readable.
    pub pid: Option<u32>,
    /// Its command line, shortened.
    pub cmdline: Option<String>,
}

/// Parses an address as the kernel prints it: the IP's bytes in memory order as
/// native-endian 32-bit hex words, a colon, the port in hex.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = ip.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(w, 16).ok()?.to_ne_bytes())
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip.to_canonical(), port))
}

/// The rows of a `/proc/net/tcp` or `/proc/net/tcp6` text; lines that do not parse are
/// skipped.
pub fn parse_table(text: &str) -> Vec<TcpRow> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(TcpRow {
                local: parse_addr(f.get(1)?)?,
                remote: parse_addr(f.get(2)?)?,
                state: u8::from_str_radix(f.get(3)?, 16).ok()?,
                uid: f.get(7)?.parse().ok()?,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// The client-side rows (or bare endpoints, for clients on other hosts) of the
/// connections that hold the vpcd at `vpcd`, leaving out `ours`. When the server side is
/// in `rows` (vpcd on this host), only accepted connections count; otherwise every
/// established connection to `vpcd` does.
pub fn holders(
    rows: &[TcpRow],
    vpcd: SocketAddr,
    ours: Option<SocketAddr>,
) -> Vec<(SocketAddr, Option<TcpRow>)> {
    let vpcd = canonical(vpcd);
    let ours = ours.map(canonical);
    let established = |r: &&TcpRow| r.state == ESTABLISHED;
    // Server side: vpcd listens on every address of the family, so match its port.
    let server: Vec<&TcpRow> = rows
        .iter()
        .filter(established)
        .filter(|r| r.local.port() == vpcd.port() && r.local.is_ipv4() == vpcd.is_ipv4())
        .collect();
    let client_row = |end: SocketAddr| {
        rows.iter()
            .filter(established)
            .find(|r| r.local == end && r.remote.port() == vpcd.port())
            .copied()
    };
    let ends: Vec<SocketAddr> = if server.is_empty() {
        rows.iter()
            .filter(established)
            .filter(|r| r.remote == vpcd)
            .map(|r| r.local)
            .collect()
    } else {
        server
            .iter()
            .filter(|r| r.inode != 0)
            .map(|r| r.remote)
            .collect()
    };
    let mut out: Vec<(SocketAddr, Option<TcpRow>)> = Vec::new();
    for end in ends {
        if Some(end) != ours && !out.iter().any(|(e, _)| *e == end) {
            out.push((end, client_row(end)));
        }
    }
    out
}

/// The processes that have a descriptor on one of the socket `inodes` (those whose
/// `/proc/PID/fd` this process may read).
pub fn socket_owners(inodes: &[u64]) -> HashMap<u64, u32> {
    let mut found = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok());
            if let Some(i) = inode.filter(|i| inodes.contains(i)) {
                found.entry(i).or_insert(pid);
            }
        }
        if found.len() == inodes.len() {
            break;
        }
    }
    found
}

/// The clients that hold the vpcd at `vpcd`, other than `ours`, with their processes
/// when `/proc` tells. Empty when nothing is known (no `/proc`, or vpcd has accepted
/// nobody).
pub fn vpcd_holders(vpcd: SocketAddr, ours: Option<SocketAddr>) -> Vec<Client> {
    let mut rows = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            rows.extend(parse_table(&text));
        }
    }
    let found = holders(&rows, vpcd, ours);
    let inodes: Vec<u64> = found
        .iter()
        .filter_map(|(_, r)| r.map(|r| r.inode))
        .filter(|&i| i != 0)
        .collect();
    let owners = if inodes.is_empty() {
        HashMap::new()
    } else {
        socket_owners(&inodes)
    };
    found
        .into_iter()
        .map(|(endpoint, row)| {
            let pid = row.and_then(|r| owners.get(&r.inode).copied());
            Client {
                endpoint,
                uid: row.map(|r| r.uid),
                pid,
                cmdline: pid.and_then(|p| super::slot_lock::cmdline(p, 160)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    /// vpcd on 35963 (0x8C7B) with card-sim A accepted (client port 0xE1EE) and B queued
    /// (0xE1F8, server side without inode), plus noise: vpcd's listener, a connection
    /// to another port, and a closing one; as on a little-endian host.
    const TABLE: &str = "\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:8C7B 00000000:0000 0A 00000001:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:8C7B 0100007F:E1F8 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0 20 4 30 10 -1
   2: 0100007F:E1EE 0100007F:8C7B 01 00000000:00000000 00:00000000 00000000  1000        0 2002 1 0 20 4 30 10 -1
   3: 0100007F:E1F8 0100007F:8C7B 01 00000000:00000000 00:00000000 00000000  1000        0 3003 1 0 20 4 30 10 -1
   4: 0100007F:8C7B 0100007F:E1EE 01 00000000:00000000 00:00000000 00000000     0        0 4004 1 0 20 4 30 10 -1
   5: 0100007F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000  1000        0 5005 1 0 20 4 30 10 -1
   6: 0100007F:C001 0100007F:8C7B 06 00000000:00000000 00:00000000 00000000  1000        0 0 1 0 20 4 30 10 -1
garbage
";

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rows_parse_as_the_kernel_prints_them() {
        let rows = parse_table(TABLE);
        assert_eq!(rows.len(), 7);
        if cfg!(target_endian = "little") {
            assert_eq!(rows[2].local, a("127.0.0.1:57838"));
            assert_eq!(rows[2].remote, a("127.0.0.1:35963"));
        }
        assert_eq!((rows[2].state, rows[2].uid, rows[2].inode), (1, 1000, 2002));
        assert_eq!(rows[0].state, 0x0A);
        let v6 = "sl\n 0: 00000000000000000000000001000000:8C7B 0000000000000000FFFF00000100007F:E1EE 01 0:0 0:0 0 7 0 9\n";
        let r = parse_table(v6);
        if cfg!(target_endian = "little") {
            assert_eq!(r[0].local, a("[::1]:35963"));
            // v4-mapped addresses come out as IPv4.
            assert_eq!(r[0].remote, a("127.0.0.1:57838"));
        }
    }

    #[test]
    fn the_accepted_client_holds_the_port_not_the_queued_ones() {
        if !cfg!(target_endian = "little") {
            return;
        }
        let rows = parse_table(TABLE);
        let vpcd = a("127.0.0.1:35963");
        let got = holders(&rows, vpcd, Some(a("127.0.0.1:57848")));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, a("127.0.0.1:57838"));
        assert_eq!(got[0].1.map(|r| r.inode), Some(2002));
        // Asked by the holder itself: nobody else.
        assert!(holders(&rows, vpcd, Some(a("127.0.0.1:57838"))).is_empty());
        // vpcd elsewhere (no server side in the table): every client of it counts.
        let clients: Vec<TcpRow> = rows
            .iter()
            .copied()
            .filter(|r| r.local.port() != 35963)
            .collect();
        let got = holders(&clients, vpcd, Some(a("127.0.0.1:57848")));
        let ends: Vec<SocketAddr> = got.iter().map(|g| g.0).collect();
        assert_eq!(ends, vec![a("127.0.0.1:57838")]);
    }

    #[test]
    fn a_live_holder_is_found_with_its_pid() {
        // A stand-in vpcd that accepts the first client only, like vpcd.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let vpcd = l.local_addr().unwrap();
        let first = TcpStream::connect(vpcd).unwrap();
        let _accepted = l.accept().unwrap();
        let queued = TcpStream::connect(vpcd).unwrap();
        let got = vpcd_holders(vpcd, Some(queued.local_addr().unwrap()));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].endpoint, first.local_addr().unwrap());
        assert_eq!(got[0].pid, Some(std::process::id()));
        // SAFETY: getuid has no preconditions.
        assert_eq!(got[0].uid, Some(unsafe { libc::getuid() }));
        assert!(got[0].cmdline.is_some());
        // Once the holder leaves and vpcd has not accepted anyone: nobody.
        drop(first);
        drop(_accepted);
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(vpcd_holders(vpcd, Some(queued.local_addr().unwrap())).is_empty());
    }
}
