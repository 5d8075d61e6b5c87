//! What every testbed server offers, whether a private `mariadbd`
//! ([`crate::LocalServer`]) or a server in a container
//! ([`crate::ContainerServer`]): how to reach it, where its datadir is on
//! this host, and a connection. Workloads, checksums and binlog replay work
//! on either through this trait.

use std::path::{Path, PathBuf};

use mysql::{Conn, Opts};

use crate::{Binaries, Result};

/// How a client on this host reaches a testbed server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket.
    Socket(PathBuf),
    /// TCP, e.g. a container's mapped port on 127.0.0.1.
    Tcp { host: String, port: u16 },
}

impl Endpoint {
    /// The client options that reach it (`--socket=S` or `--host=H --port=P`),
    /// as `mariadb`, `mariabackup` and `innohot` take them.
    pub fn client_args(&self) -> Vec<String> {
        match self {
            Endpoint::Socket(s) => vec![format!("--socket={}", s.display())],
            Endpoint::Tcp { host, port } => vec![format!("--host={host}"), format!("--port={port}")],
        }
    }
}

/// A real server a test runs against; root has no password.
pub trait TestServer {
    /// Connection options for root (e.g. for [`crate::Workload::start`]).
    fn opts(&self) -> Opts;
    /// How a client on this host reaches the server.
    fn endpoint(&self) -> Endpoint;
    /// The server's datadir as seen from this host.
    fn datadir(&self) -> &Path;
    /// Binaries on this host to use with the server (client, mariabackup),
    /// when the testbed knows them.
    fn host_binaries(&self) -> Option<&Binaries> {
        None
    }
    /// A new connection as root.
    fn conn(&self) -> Result<Conn> {
        Conn::new(self.opts()).map_err(crate::sql_err(format!("connecting to {:?}", self.endpoint())))
    }
}

impl TestServer for crate::LocalServer {
    fn opts(&self) -> Opts {
        crate::LocalServer::opts(self)
    }
    fn endpoint(&self) -> Endpoint {
        Endpoint::Socket(self.socket().to_path_buf())
    }
    fn datadir(&self) -> &Path {
        crate::LocalServer::datadir(self)
    }
    fn host_binaries(&self) -> Option<&Binaries> {
        Some(self.binaries())
    }
    fn conn(&self) -> Result<Conn> {
        crate::LocalServer::conn(self)
    }
}
