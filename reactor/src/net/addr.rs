//! `ToSocketAddrs`: what `bind`, `connect` and `send_to` accept.
//!
//! Addresses and IP literals ("127.0.0.1:80", ("::1", 80)) resolve at once.
//! Host names ("localhost:80") resolve through the system resolver, which
//! blocks, so they run on the runtime's blocking pool (see
//! [`lookup_host`](super::lookup_host)).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

mod sealed {
    pub trait Sealed {}
}

/// Something that names one or more socket addresses.
///
/// Implemented for socket addresses, `(ip, port)` pairs, slices of
/// addresses, and strings (`"host:port"`, or `(host, port)`), whose host
/// names resolve without blocking the worker thread.
pub trait ToSocketAddrs: sealed::Sealed + Send {
    #[doc(hidden)]
    fn into_addrs(self) -> Addrs;
}

/// Addresses, or a host name still to resolve.
#[doc(hidden)]
pub enum Addrs {
    Resolved(Vec<SocketAddr>),
    Lookup(String, u16),
    Invalid(io::Error),
}

impl Addrs {
    pub(crate) async fn resolve(self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Addrs::Resolved(addrs) => Ok(addrs),
            Addrs::Lookup(host, port) => super::lookup::resolve(host, port).await,
            Addrs::Invalid(err) => Err(err),
        }
    }
}

macro_rules! resolved {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn into_addrs(self) -> Addrs {
                Addrs::Resolved(vec![SocketAddr::from(self)])
            }
        }
    )*};
}

resolved!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16),
    ([u8; 4], u16),
    ([u16; 8], u16)
);

impl sealed::Sealed for &[SocketAddr] {}
impl ToSocketAddrs for &[SocketAddr] {
    fn into_addrs(self) -> Addrs {
        Addrs::Resolved(self.to_vec())
    }
}

impl<T: ToSocketAddrs + Copy> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + Copy + Sync> ToSocketAddrs for &T {
    fn into_addrs(self) -> Addrs {
        (*self).into_addrs()
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn into_addrs(self) -> Addrs {
        let (host, port) = self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Addrs::Resolved(vec![SocketAddr::new(ip, port)]),
            Err(_) => Addrs::Lookup(host.to_string(), port),
        }
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn into_addrs(self) -> Addrs {
        (self.0.as_str(), self.1).into_addrs()
    }
}

impl sealed::Sealed for &str {}
impl ToSocketAddrs for &str {
    fn into_addrs(self) -> Addrs {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Addrs::Resolved(vec![addr]);
        }
        let Some((host, port)) = self.rsplit_once(':') else {
            return Addrs::Invalid(invalid("missing the port: write \"host:port\""));
        };
        match port.parse::<u16>() {
            Ok(port) => (host, port).into_addrs(),
            Err(_) => Addrs::Invalid(invalid("invalid port value")),
        }
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn into_addrs(self) -> Addrs {
        self.as_str().into_addrs()
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(a: impl ToSocketAddrs) -> Vec<SocketAddr> {
        match a.into_addrs() {
            Addrs::Resolved(addrs) => addrs,
            Addrs::Lookup(host, _) => panic!("needs a lookup: {host}"),
            Addrs::Invalid(err) => panic!("{err}"),
        }
    }

    #[test]
    fn literals_resolve_at_once() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(resolved("127.0.0.1:80"), [v4]);
        assert_eq!(resolved(("127.0.0.1", 80)), [v4]);
        assert_eq!(resolved(([127, 0, 0, 1], 80)), [v4]);
        assert_eq!(resolved("[::1]:80"), ["[::1]:80".parse().unwrap()]);
        assert_eq!(resolved(("::1", 80)), ["[::1]:80".parse().unwrap()]);
    }

    #[test]
    fn names_need_a_lookup_and_garbage_is_an_error() {
        assert!(matches!("localhost:80".into_addrs(), Addrs::Lookup(h, 80) if h == "localhost"));
        for bad in ["localhost", "localhost:http", "1.2.3.4:99999"] {
            match bad.into_addrs() {
                Addrs::Invalid(err) => assert_eq!(err.kind(), io::ErrorKind::InvalidInput),
                _ => panic!("{bad} accepted"),
            }
        }
    }
}
