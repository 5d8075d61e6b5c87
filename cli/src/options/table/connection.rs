//! Where options come from, and how to reach the server.

use super::Kind::{Flag, OptionalValue as Opt, Value};
use super::{source, OptionSpec};
use innohot::server::mysql::SslMode;

/// In the order the command line applies them (see `table`).
pub static CONNECTION: &[OptionSpec] = &[
    OptionSpec::new("target-dir", Value("DIR"), "Where the backup goes: a new or empty directory", |a, v| {
        a.target_dir = Some(v.path()?);
        Ok(())
    }),
    source("defaults-file", Value("FILE"), "Read options from this file only (as mariabackup)"),
    source("defaults-extra-file", Value("FILE"), "Read this option file after --defaults-file; its values win"),
    source(
        "defaults-group-suffix",
        Value("SUFFIX"),
        "Also read the groups [client<SUFFIX>], [xtrabackup<SUFFIX>], ... (they win over the plain groups)",
    ),
    source("no-defaults", Flag, "Accepted for compatibility: innohot reads no option file unless named"),
    OptionSpec::new("user", Value("NAME"), "SQL user for the backup's connection", |a, v| {
        a.connect.user = Some(v.string()?);
        Ok(())
    }),
    // The command line's password never gets here: `args::prepare` takes it out first.
    OptionSpec::new(
        "password",
        Opt("PASSWORD"),
        "Password: --password=VALUE or --password VALUE (better: INNOHOT_PASSWORD or password= in the \
         [client] group)",
        |a, v| {
            a.connect.password = Some(v.string()?);
            Ok(())
        },
    )
    .aliases(&["pass"]),
    OptionSpec::new("host", Value("HOST"), "Server host for a TCP connection", |a, v| {
        a.connect.host = Some(v.string()?);
        Ok(())
    }),
    OptionSpec::new("port", Value("PORT"), "Server TCP port (default 3306)", |a, v| {
        a.connect.port = Some(v.number()?);
        Ok(())
    }),
    OptionSpec::new("socket", Value("PATH"), "Server Unix socket", |a, v| {
        a.connect.socket = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new(
        "protocol",
        Value("TCP|SOCKET"),
        "How to reach the server: TCP (--host/--port, 127.0.0.1 by default; a socket setting is ignored) \
         or SOCKET",
        |a, v| {
            a.protocol = Some(v.need()?.parse()?);
            Ok(())
        },
    ),
    // The MariaDB clients' spelling of the --ssl-mode choices.
    OptionSpec::new(
        "ssl",
        Opt("BOOL"),
        "The MariaDB clients' switch: TLS without verifying the certificate (--ssl-mode=REQUIRED); \
         --ssl=0 or --skip-ssl: none",
        |a, v| {
            a.connect.tls.mode = Some(if v.on()? { SslMode::Required } else { SslMode::Disabled });
            Ok(())
        },
    ),
    OptionSpec::new("skip-ssl", Flag, "No TLS (--ssl-mode=DISABLED)", |a, _| {
        a.connect.tls.mode = Some(SslMode::Disabled);
        Ok(())
    }),
    switch!(
        "ssl-verify-server-cert",
        "Verify the server's certificate and host name (--ssl-mode=VERIFY_IDENTITY; needs --ssl-ca)",
        |a, v| {
            if v.on()? {
                a.connect.tls.mode = Some(SslMode::VerifyIdentity);
            }
            Ok(())
        },
    ),
    OptionSpec::new(
        "ssl-mode",
        Value("MODE"),
        "TLS for a TCP connection: DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY (default: \
         DISABLED, or VERIFY_CA when --ssl-ca is given); never used over a Unix socket",
        |a, v| {
            a.connect.tls.mode = Some(v.need()?.parse()?);
            Ok(())
        },
    ),
    OptionSpec::new(
        "ssl-ca",
        Value("FILE"),
        "The CA certificate (PEM) that signed the server's certificate",
        |a, v| {
            a.connect.tls.ca = Some(v.path()?);
            Ok(())
        },
    ),
    OptionSpec::new("ssl-cert", Value("FILE"), "A client certificate (PEM), with --ssl-key", |a, v| {
        a.connect.tls.cert = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new("ssl-key", Value("FILE"), "The client certificate's private key (PEM)", |a, v| {
        a.connect.tls.key = Some(v.path()?);
        Ok(())
    }),
    OptionSpec::new(
        "datadir",
        Value("DIR"),
        "Where this host sees the server's datadir, when not at the path the server reports (containers, \
         mounts); innohot checks it is the server's and refuses otherwise",
        |a, v| {
            a.datadir = Some(v.path()?);
            Ok(())
        },
    ),
];
