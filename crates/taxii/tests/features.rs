//! The optional cargo features `postgres` and `tls`: a build without one
//! refuses what needs it by name; a build with it does not.

use std::path::Path;

const NO_PG: &str = "no PostgreSQL support (cargo feature `postgres`)";
const NO_TLS: &str = "no TLS support (cargo feature `tls`)";

#[test]
fn a_postgres_url_needs_the_postgres_feature_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens, so a build with PostgreSQL fails
    // to connect, and one without it refuses before trying.
    let err = tripoint_taxii::store::open("postgres://tripoint@127.0.0.1:1/none", dir.path())
        .err()
        .expect("nothing listens on port 1")
        .to_string();
    assert_eq!(
        err.contains(NO_PG),
        cfg!(not(feature = "postgres")),
        "{err}"
    );
    // SQLite is always there.
    assert!(tripoint_taxii::store::open("intel.db", dir.path()).is_ok());
}

#[test]
fn tls_settings_need_the_tls_feature_and_only_then() {
    let missing = Path::new("/nonexistent/server.crt");
    let err = tripoint_taxii::server::tls_config(missing, Path::new("/nonexistent/server.key"))
        .expect_err("the files do not exist")
        .to_string();
    assert!(err.contains("/nonexistent/server.crt"), "{err}");
    assert_eq!(err.contains(NO_TLS), cfg!(not(feature = "tls")), "{err}");
}
