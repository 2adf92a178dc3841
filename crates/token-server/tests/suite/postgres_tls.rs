//! TLS to PostgreSQL (libpq's `sslmode` and `sslrootcert`, with rustls), against real servers:
//! `require` against the machine's PostgreSQL (seen as TLS in `pg_stat_ssl`); `verify-full` and
//! `verify-ca` against a throwaway cluster this test starts (`initdb` and `postgres` from the
//! machine's binaries, as the `postgres` user) with a server certificate from a CA made here with
//! openssl — and the refusals: an unknown CA, a wrong host name, TLS required by the server, a
//! wrong password, each named.

use std::path::{Path, PathBuf};
use std::process::Command;

use token_server::Config;

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn as_postgres(args: &[&str]) {
    let mut full = vec!["-u", "postgres", "--"];
    full.extend_from_slice(args);
    run("runuser", &full);
}

/// The machine's PostgreSQL binaries (the newest installed version).
fn bindir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL binaries under /usr/lib/postgresql")
        .map(|e| e.unwrap().path())
        .collect();
    versions.sort();
    versions.pop().unwrap().join("bin")
}

/// A throwaway cluster on a free port: TLS on with a certificate for `localhost` from `ca`; only
/// TLS connections accepted from TCP; `postgres` trusted, `tokens` by password (`right`).
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn start(ca_key: &Path, ca_cert: &Path) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        run("mkdir", &[data.to_str().unwrap()]);
        run("chown", &["postgres:postgres", data.to_str().unwrap(), dir.path().to_str().unwrap()]);
        let bin = bindir();
        as_postgres(&[
            bin.join("initdb").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        let (server_key, server_cert) = (data.join("server.key"), data.join("server.crt"));
        crate::pki::issue((ca_key, ca_cert), "DNS:localhost", &server_cert, &server_key);
        run("chown", &["postgres:postgres", server_key.to_str().unwrap(), server_cert.to_str().unwrap()]);
        run("chmod", &["600", server_key.to_str().unwrap()]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nssl = on\n\
             ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\npassword_encryption = 'scram-sha-256'\n\
             fsync = off\n",
            dir.path().display()
        ));
        std::fs::write(&conf, text).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostnossl all all 127.0.0.1/32 reject\n\
             hostssl all postgres 127.0.0.1/32 trust\nhostssl all tokens 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        let log = dir.path().join("postgres.log");
        as_postgres(&[
            bin.join("pg_ctl").to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
        let cluster = Cluster { dir, port };
        as_postgres(&[
            bin.join("psql").to_str().unwrap(),
            "-h",
            cluster.dir.path().to_str().unwrap(),
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-qc",
            "CREATE ROLE tokens LOGIN PASSWORD 'right' SUPERUSER",
        ]);
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bindir().join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

async fn open(url: &str) -> Result<token_server::store::Stores, String> {
    let config = Config { database: url.into(), database_connect_timeout_secs: 5, ..Config::default() };
    token_server::connect_store(&config).await.map_err(|e| e.to_string())
}

#[tokio::test]
async fn require_encrypts_against_the_machines_postgresql() {
    let url = crate::common::postgres_url();
    let Ok((client, connection)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PostgreSQL is required in CI");
        eprintln!("skipped: no PostgreSQL at {url}");
        return;
    };
    tokio::spawn(connection);
    let schema = format!("tls_{:016x}", rand::random::<u64>());
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.unwrap();
    let _drop = crate::common::PostgresSchema::named(schema.clone());
    let app = format!("tls-{schema}");
    let separator = if url.contains('?') { '&' } else { '?' };
    let with_tls =
        format!("{url}{separator}sslmode=require&application_name={app}&options=-c%20search_path%3D{schema}");
    let _stores = open(&with_tls).await.expect("sslmode=require connects");
    let row = client
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a \
             JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    let (all, encrypted): (i64, i64) = (row.get(0), row.get(1));
    assert!(all >= 1, "the store's connections are there");
    assert_eq!(all, encrypted, "every connection of the store is TLS");
}

#[tokio::test]
async fn verify_full_and_verify_ca_against_a_cluster_with_its_own_ca() {
    if Command::new("runuser").arg("--help").output().is_err() {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "runuser is required in CI");
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (ca_key, ca_cert) = crate::pki::make_ca(keys.path(), "test-ca");
    let (_, other_ca) = crate::pki::make_ca(keys.path(), "other-ca");
    let cluster = Cluster::start(&ca_key, &ca_cert);
    let port = cluster.port;
    let url =
        |user: &str, host: &str, query: &str| format!("postgres://{user}@{host}:{port}/postgres?{query}");
    let root = ca_cert.display();
    let other = other_ca.display();

    // Accepted: the chain and the name; the chain alone; a password over TLS.
    open(&url("postgres", "localhost", &format!("sslmode=verify-full&sslrootcert={root}"))).await.unwrap();
    open(&url("postgres", "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={root}"))).await.unwrap();
    open(&url("tokens:right", "localhost", &format!("sslmode=verify-full&sslrootcert={root}")))
        .await
        .unwrap();

    // Refused, each saying why.
    for (case, url, cause) in [
        (
            "wrong host name",
            url("postgres", "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={root}")),
            "valid for name",
        ),
        (
            "unknown CA (full)",
            url("postgres", "localhost", &format!("sslmode=verify-full&sslrootcert={other}")),
            "unknown issuer",
        ),
        (
            "unknown CA (ca)",
            url("postgres", "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={other}")),
            "unknown issuer",
        ),
        ("TLS required by the server", url("postgres", "127.0.0.1", "sslmode=disable"), "requires TLS"),
        ("wrong password", url("tokens:wrong", "localhost", "sslmode=require"), "authentication failed"),
    ] {
        let refused = open(&url).await.expect_err(case);
        // rustls names certificate errors as `UnknownIssuer` or "unknown issuer" by version.
        let plain = refused
            .to_lowercase()
            .replace("notvalidforname", "valid for name")
            .replace("unknownissuer", "unknown issuer");
        assert!(plain.contains(&cause.to_lowercase()), "{case}: expected '{cause}' in: {refused}");
        assert!(
            !refused.contains("right") && !refused.contains(":wrong@"),
            "{case}: no password in: {refused}"
        );
    }
    drop(cluster);
}
