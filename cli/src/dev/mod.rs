//! The developer commands, `demo` and `sim`: they run the simulator (a simulated server, its
//! backup and the oracle's verdict), for developers of innohot, not for operators; they touch no
//! real server.

pub(crate) mod demo;
pub(crate) mod sim;
