//! The optional cargo feature `postgres`: a build without it refuses a
//! `postgres://` case database by name; a build with it tries to connect.

#[test]
fn a_postgres_case_db_needs_the_postgres_feature_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let err = tripoint_case::open(dir.path(), Some("postgres://tripoint@127.0.0.1:1/none"))
        .err()
        .expect("nothing listens on port 1")
        .to_string();
    assert_eq!(
        err.contains("no PostgreSQL support (cargo feature `postgres`)"),
        cfg!(not(feature = "postgres")),
        "{err}"
    );
    assert!(tripoint_case::open(dir.path(), None).is_ok());
}
