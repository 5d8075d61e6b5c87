//! TLS to a real server started with a CA, certificate and key made here (the
//! openssl command): backups over TCP with --ssl-mode=REQUIRED and VERIFY_CA
//! (the latter from an option file) and VERIFY_IDENTITY complete and the server counts a TLS
//! handshake for each; VERIFY_CA with another CA fails in one sentence, exit 1.

use innohot_testbeds::{binaries_or_skip, innohot, skip, LocalServer, Run, ServerBuilder};
use mysql::prelude::Queryable;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl").current_dir(dir).args(args).output().map(|o| o.status.success()).unwrap_or(false)
}

/// A CA and, when `server` is set, a server certificate and key it signs.
fn make_ca(dir: &Path, name: &str, server: bool) -> bool {
    let ca_key = format!("{name}-key.pem");
    let ca = format!("{name}.pem");
    let subject = format!("/CN=innohot test {name}");
    let mut ok = openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=keyCertSign,cRLSign",
        ],
    );
    if server && ok {
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        ok = openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server-key.pem",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ) && openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                &ca,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                "server-cert.pem",
                "-extfile",
                "server.ext",
            ],
        );
    }
    ok
}

fn ssl_accepts(server: &LocalServer) -> u64 {
    let mut conn = server.conn().unwrap();
    let row: Option<(String, String)> = conn.query_first("SHOW GLOBAL STATUS LIKE 'Ssl_finished_accepts'").unwrap();
    row.map(|(_, v)| v.parse().unwrap()).unwrap_or(0)
}

#[test]
fn backups_over_tls_verify_the_ca_and_say_so_when_it_is_wrong() {
    let Some(b) = binaries_or_skip() else { return };
    let certs = tempfile::tempdir().unwrap();
    let c = certs.path();
    if !make_ca(c, "ca", true) || !make_ca(c, "other-ca", false) {
        skip::skip("the openssl command cannot make test certificates here");
        return;
    }
    let src = ServerBuilder::new(b)
        .innodb_log_file_size("16M")
        .option(format!("--ssl-ca={}", c.join("ca.pem").display()))
        .option(format!("--ssl-cert={}", c.join("server-cert.pem").display()))
        .option(format!("--ssl-key={}", c.join("server-key.pem").display()))
        .start()
        .expect("start a server with TLS");
    let mut conn = src.conn().unwrap();
    for host in ["localhost", "127.0.0.1", "%"] {
        conn.query_drop(format!("CREATE USER 'bk'@'{host}' IDENTIFIED BY 'tls-pw'")).unwrap();
        conn.query_drop(format!("GRANT ALL ON *.* TO 'bk'@'{host}'")).unwrap();
    }
    let have_ssl: Option<(String, String)> = conn.query_first("SHOW GLOBAL VARIABLES LIKE 'have_ssl'").unwrap();
    assert_eq!(have_ssl.map(|(_, v)| v).as_deref(), Some("YES"), "{}", src.error_log_tail(20));
    let dir = tempfile::tempdir().unwrap();
    let tcp = |target: &Path| {
        vec![
            "backup".to_string(),
            format!("--target-dir={}", target.display()),
            "--host=127.0.0.1".into(),
            format!("--port={}", src.port()),
            "--user=bk".into(),
            "--password=tls-pw".into(),
        ]
    };

    // REQUIRED: encrypted, the certificate not verified.
    let before = ssl_accepts(&src);
    let mut args = tcp(&dir.path().join("required"));
    args.push("--ssl-mode=REQUIRED".into());
    let Run { code, stderr: log, .. } = innohot!().run(&args);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.trim_end().ends_with("completed OK!"), "{log}");
    assert!(ssl_accepts(&src) > before, "the backup's connection did not use TLS");

    // VERIFY_CA, from the [client] group of an option file.
    let cnf = dir.path().join("tls.cnf");
    std::fs::write(&cnf, format!("[client]\nssl-mode=VERIFY_CA\nssl-ca={}\n", c.join("ca.pem").display())).unwrap();
    let before = ssl_accepts(&src);
    let mut args = vec![format!("--defaults-file={}", cnf.display())];
    args.extend(tcp(&dir.path().join("verify-ca")));
    args.remove(1); // `backup` comes first
    args.insert(0, "backup".into());
    let Run { code, stderr: log, .. } = innohot!().run(&args);
    assert_eq!(code, Some(0), "{log}");
    assert!(ssl_accepts(&src) > before, "the backup's connection did not use TLS");

    // VERIFY_IDENTITY: the certificate names 127.0.0.1.
    let before = ssl_accepts(&src);
    let mut args = tcp(&dir.path().join("verify-identity"));
    args.push("--ssl-mode=VERIFY_IDENTITY".into());
    args.push(format!("--ssl-ca={}", c.join("ca.pem").display()));
    let Run { code, stderr: log, .. } = innohot!().run(&args);
    assert_eq!(code, Some(0), "{log}");
    assert!(ssl_accepts(&src) > before, "the backup's connection did not use TLS");

    // VERIFY_CA with a CA that did not sign the server's certificate.
    let target = dir.path().join("wrong-ca");
    let mut args = tcp(&target);
    args.push("--ssl-mode=VERIFY_CA".into());
    args.push(format!("--ssl-ca={}", c.join("other-ca.pem").display()));
    let Run { code, stderr: log, .. } = innohot!().run(&args);
    assert_eq!(code, Some(1), "{log}");
    for says in ["TLS handshake", "not signed by the CA in --ssl-ca", "other-ca.pem", "--ssl-mode=REQUIRED"] {
        assert!(log.contains(says), "the message must say {says:?}: {log}");
    }
    for leak in ["TlsError", "DriverError", "tls-pw", "completed OK!"] {
        assert!(!log.contains(leak), "{leak}: {log}");
    }
    assert!(!target.exists(), "a refused connection creates no target");

    // VERIFY_CA without a CA: a usage error; over the socket: a warning, no TLS.
    let mut args = tcp(&dir.path().join("no-ca"));
    args.push("--ssl-mode=VERIFY_CA".into());
    let Run { code, stderr: log, .. } = innohot!().run(&args);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("--ssl-mode=VERIFY_CA needs --ssl-ca=FILE"), "{log}");
    let Run { code, stderr: log, .. } = innohot!().run([
        "backup".into(),
        format!("--target-dir={}", dir.path().join("socket").display()),
        format!("--socket={}", src.socket().display()),
        "--user=root".into(),
        "--ssl-mode=REQUIRED".into(),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("TLS is not used over the Unix socket"), "{log}");

    // A REQUIRE SSL user with the socket and the port known (backup_ssl of mariabackup's suite):
    // TLS cannot run over the socket, so the same server is reached over TCP with TLS.
    conn.query_drop("CREATE USER 'only_tls'@'%' IDENTIFIED BY 'tls-pw' REQUIRE SSL").unwrap();
    conn.query_drop("GRANT ALL ON *.* TO 'only_tls'@'%'").unwrap();
    let before = ssl_accepts(&src);
    let Run { code, stderr: log, .. } = innohot!().run([
        "--backup".into(),
        format!("--target-dir={}", dir.path().join("socket-tls").display()),
        format!("--socket={}", src.socket().display()),
        format!("--port={}", src.port()),
        "--user=only_tls".into(),
        "--password=tls-pw".into(),
        "--ssl".into(),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("over TCP with TLS instead"), "{log}");
    assert!(ssl_accepts(&src) > before, "the backup's connection did not use TLS");
}
