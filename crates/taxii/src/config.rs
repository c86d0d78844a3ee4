//! The server's TOML configuration: partners and their credentials, API roots,
//! collections with their read/write lists and TLP clearances, storage, listen
//! address and TLS files. The admin CLI edits the same file (atomically), and a
//! running server reloads it when it changes.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: `{field}`: {reason}")]
    Invalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
    #[error("{0}")]
    Serialize(#[from] toml::ser::Error),
    #[error("{0}")]
    Auth(#[from] crate::auth::AuthError),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Plain HTTP is allowed only on loopback.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// SQLite file path (relative to this file), or a `postgres://` URL.
    #[serde(default = "default_storage")]
    pub storage: String,
    /// Largest accepted request body, in bytes (also advertised by API roots).
    #[serde(default = "default_max_content_length")]
    pub max_content_length: usize,
    /// Largest page the server returns, whatever `limit` asks for.
    #[serde(default = "default_max_page_size")]
    pub max_page_size: usize,
    /// Failed authentications allowed per source address, and per user
    /// name or key id, within one minute; further attempts get 429.
    #[serde(default = "default_auth_failures")]
    pub auth_failures_per_minute: u32,
    /// A request head (line and headers) must arrive within this many
    /// seconds, or the connection is closed.
    #[serde(default = "default_header_timeout")]
    pub header_read_timeout_secs: u64,
    /// A POST body must arrive within this many seconds, or the request is
    /// refused (408).
    #[serde(default = "default_body_timeout")]
    pub body_read_timeout_secs: u64,
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// API root path that discovery names as `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_api_root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    #[serde(default, rename = "partner")]
    pub partners: Vec<Partner>,
    /// Credentials of the server's operators: they may use the admin JSON
    /// endpoints (`/admin/…`) and see no collection.
    #[serde(
        default,
        rename = "admin_credential",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub admin_credentials: Vec<Credential>,
    #[serde(default, rename = "api_root")]
    pub api_roots: Vec<ApiRoot>,
    #[serde(default, rename = "collection")]
    pub collections: Vec<Collection>,
    /// Links to other TAXII 2.1 servers (other governments' tripoint, or any
    /// TAXII server): what `tripoint intel sync` and the periodic sync of
    /// `tripoint serve` pull and push (crate::federation).
    #[serde(default, rename = "federation", skip_serializing_if = "Vec::is_empty")]
    pub federation: Vec<FederationLink>,
}

/// One link to a peer TAXII 2.1 server.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FederationLink {
    /// The `[[partner]]` this server is (e.g. `us` on the Japanese server):
    /// what is pulled is recorded as synced from it (provenance
    /// `sync:<peer>`), and what is pushed is what this partner may read here.
    pub peer: String,
    /// The peer's API root URL, e.g. `https://taxii.us.example/trilateral/`.
    pub url: String,
    /// HTTP Basic user name on the peer; without it the secret file holds an
    /// API key (`<key_id>.<secret>`, sent as a Bearer token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// File (relative to this one) holding the password or API key for the
    /// peer, on one line; it must not be readable by group or others (0600).
    pub secret_file: PathBuf,
    /// PEM CA certificate(s) to trust for an `https` peer, instead of the
    /// public web roots (relative to this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `tripoint serve` syncs this link every so many seconds (0: only
    /// `tripoint intel sync` does).
    #[serde(default)]
    pub interval_secs: u64,
    /// Objects per page requested from (and posted to) the peer.
    #[serde(default = "default_sync_page")]
    pub page_size: usize,
    #[serde(rename = "collection")]
    pub collections: Vec<LinkCollection>,
}

/// Which remote collection feeds (or is fed by) which local one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkCollection {
    /// Collection id (or alias, on a tripoint peer) on the peer.
    pub remote: String,
    /// Collection id or alias here (default: the same as `remote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// `pull` (default), `push` or `both`.
    #[serde(default)]
    pub direction: Direction,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    #[default]
    Pull,
    Push,
    Both,
}

impl Direction {
    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
    }
    pub fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }
}

impl LinkCollection {
    /// The local collection's id or alias.
    pub fn local(&self) -> &str {
        self.local.as_deref().unwrap_or(&self.remote)
    }
}

fn default_sync_page() -> usize {
    1000
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (relative to this file).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    /// Lower-case letters, digits, `-` and `_`, starting with a letter
    /// (it is a user name, a key id prefix and an audit column).
    pub id: String,
    pub name: String,
    /// The partner's STIX identity id: the `created_by_ref` of what it posts.
    /// Default: derived from the partner id
    /// (`tripoint_stix::content::partner_identity_id`).
    #[serde(default)]
    pub identity: String,
    #[serde(default)]
    pub credentials: Vec<Credential>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Credential {
    /// HTTP Basic: username and the argon2 hash of the password.
    Basic { username: String, hash: String },
    /// Bearer API key `<key_id>.<secret>`: the argon2 hash is of the secret part.
    ApiKey { key_id: String, hash: String },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiRoot {
    /// URL path segment, e.g. `trilateral` (served at `/trilateral/`).
    pub path: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collection {
    /// A UUID (explicit ones are kept, so partners' bookmarks survive re-installs).
    pub id: String,
    pub api_root: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Partner ids that may read.
    #[serde(default)]
    pub read: Vec<String>,
    /// Partner ids that may write.
    #[serde(default)]
    pub write: Vec<String>,
    /// Partner ids cleared for TLP:AMBER+STRICT objects here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared_amber_strict: Vec<String>,
    /// Partner ids cleared for TLP:RED (and TLP:AMBER+STRICT) objects here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleared_red: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:9410".into()
}
fn default_storage() -> String {
    "tripoint-intel.db".into()
}
fn default_max_content_length() -> usize {
    10 * 1024 * 1024
}
fn default_max_page_size() -> usize {
    1000
}
fn default_auth_failures() -> u32 {
    10
}
fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    30
}

/// Partner ids that mean something else in the audit log or the CLI.
const RESERVED_PARTNER_IDS: [&str; 3] = ["admin", "tripoint", "-"];

/// Whether `id` may name a partner: 1-32 of `a-z 0-9 - _`, starting with a
/// letter, and not reserved. `.` (API key separator), `:` (Basic separator),
/// upper case and white space are refused.
pub fn is_partner_id(id: &str) -> bool {
    id.len() <= 32
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !RESERVED_PARTNER_IDS.contains(&id)
}
fn default_title() -> String {
    "tripoint trilateral TAXII server".into()
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

pub fn is_identity_id(s: &str) -> bool {
    s.strip_prefix("identity--").is_some_and(is_uuid)
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        for p in &mut cfg.partners {
            if p.identity.is_empty() {
                p.identity = tripoint_stix::content::partner_identity_id(&p.id);
            }
        }
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Write atomically (temp file + rename) so a reader never sees half a file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        self.validate(path)?;
        let text = toml::to_string_pretty(self)?;
        crate::private::write_atomic(path, text.as_bytes()).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field: String, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            reason,
        };
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.partners.iter().enumerate() {
            if !is_partner_id(&p.id) {
                return Err(bad(
                    format!("partner[{i}].id"),
                    format!(
                        "`{}` must be 1-32 lower-case letters, digits, - or _, start with a letter, and not be admin or tripoint",
                        p.id
                    ),
                ));
            }
            if !seen.insert(p.id.as_str()) {
                return Err(bad(
                    format!("partner[{i}].id"),
                    format!("`{}` is repeated", p.id),
                ));
            }
            if !is_identity_id(&p.identity) {
                return Err(bad(
                    format!("partner[{i}].identity"),
                    format!("`{}` is not an identity id (identity--<uuid>)", p.identity),
                ));
            }
            for (j, c) in p.credentials.iter().enumerate() {
                let hash = match c {
                    Credential::Basic { hash, .. } | Credential::ApiKey { hash, .. } => hash,
                };
                if argon2::PasswordHash::new(hash).is_err() {
                    return Err(bad(
                        format!("partner[{i}].credentials[{j}].hash"),
                        "not an argon2 PHC hash (make one with `tripoint intel hash-secret`)"
                            .into(),
                    ));
                }
            }
        }
        for (j, c) in self.admin_credentials.iter().enumerate() {
            let (name, hash) = match c {
                Credential::Basic { username, hash } => (username, hash),
                Credential::ApiKey { key_id, hash } => (key_id, hash),
            };
            if argon2::PasswordHash::new(hash).is_err() {
                return Err(bad(
                    format!("admin_credential[{j}].hash"),
                    "not an argon2 PHC hash (make one with `tripoint intel hash-secret`)".into(),
                ));
            }
            let taken = self.partners.iter().flat_map(|p| &p.credentials).any(|pc| {
                matches!((pc, c), (Credential::Basic { username: a, .. }, Credential::Basic { username: b, .. }) if a == b)
                    || matches!((pc, c), (Credential::ApiKey { key_id: a, .. }, Credential::ApiKey { key_id: b, .. }) if a == b)
            });
            if taken {
                return Err(bad(
                    format!("admin_credential[{j}]"),
                    format!("`{name}` is also a partner's user name or key id"),
                ));
            }
        }
        let mut roots = std::collections::HashSet::new();
        for (i, r) in self.api_roots.iter().enumerate() {
            let ok = !r.path.is_empty()
                && r.path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok || !roots.insert(r.path.as_str()) {
                return Err(bad(
                    format!("api_root[{i}].path"),
                    format!(
                        "`{}` must be one unique segment of letters, digits, - or _ (no slashes)",
                        r.path
                    ),
                ));
            }
        }
        if let Some(d) = &self.default_api_root {
            if !roots.contains(d.as_str()) {
                return Err(bad("default_api_root".into(), format!("no api_root `{d}`")));
            }
        }
        let mut ids = std::collections::HashSet::new();
        let mut aliases = std::collections::HashSet::new();
        for (i, c) in self.collections.iter().enumerate() {
            if !is_uuid(&c.id) || !ids.insert(c.id.to_ascii_lowercase()) {
                return Err(bad(
                    format!("collection[{i}].id"),
                    format!("`{}` is not a unique UUID", c.id),
                ));
            }
            if !roots.contains(c.api_root.as_str()) {
                return Err(bad(
                    format!("collection[{i}].api_root"),
                    format!("no api_root `{}`", c.api_root),
                ));
            }
            if let Some(a) = &c.alias {
                if is_uuid(a)
                    || a.contains('/')
                    || !aliases.insert((c.api_root.as_str(), a.as_str()))
                {
                    return Err(bad(
                        format!("collection[{i}].alias"),
                        format!("`{a}` must be unique in its API root, not a UUID and without `/`"),
                    ));
                }
            }
            for (field, list) in [
                ("read", &c.read),
                ("write", &c.write),
                ("cleared_amber_strict", &c.cleared_amber_strict),
                ("cleared_red", &c.cleared_red),
            ] {
                if let Some(unknown) = list.iter().find(|p| !seen.contains(p.as_str())) {
                    return Err(bad(
                        format!("collection[{i}].{field}"),
                        format!("unknown partner `{unknown}`"),
                    ));
                }
            }
        }
        for (i, l) in self.federation.iter().enumerate() {
            if !seen.contains(l.peer.as_str()) {
                return Err(bad(
                    format!("federation[{i}].peer"),
                    format!(
                        "unknown partner `{}` (a link names the partner the peer server is)",
                        l.peer
                    ),
                ));
            }
            if !(l.url.starts_with("http://") || l.url.starts_with("https://")) {
                return Err(bad(
                    format!("federation[{i}].url"),
                    format!(
                        "`{}` is not an http:// or https:// URL of an API root",
                        l.url
                    ),
                ));
            }
            if l.page_size == 0 {
                return Err(bad(
                    format!("federation[{i}].page_size"),
                    "must be at least 1".into(),
                ));
            }
            if l.collections.is_empty() {
                return Err(bad(
                    format!("federation[{i}].collection"),
                    "list at least one collection to sync".into(),
                ));
            }
            for (j, c) in l.collections.iter().enumerate() {
                let local = c.local();
                let found = self.collection(local).is_some();
                if c.remote.is_empty() || c.remote.contains('/') || !found {
                    return Err(bad(
                        format!("federation[{i}].collection[{j}]"),
                        format!(
                            "remote `{}` must be a collection id or alias without `/`, and local `{local}` a collection here",
                            c.remote
                        ),
                    ));
                }
            }
        }
        if self.header_read_timeout_secs == 0 || self.body_read_timeout_secs == 0 {
            return Err(bad(
                "header_read_timeout_secs".into(),
                "read timeouts must be at least 1 second".into(),
            ));
        }
        if self.max_page_size == 0 {
            return Err(bad("max_page_size".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    /// `tls` file paths and the SQLite path are relative to the config file's directory.
    pub fn base_dir(path: &Path) -> PathBuf {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// A new collection, as `tripoint intel collection add` describes it.
#[derive(Clone, Debug, Default)]
pub struct NewCollection {
    /// Default: a new random UUID.
    pub id: Option<String>,
    pub api_root: String,
    pub title: String,
    pub alias: Option<String>,
    pub read: Vec<String>,
    pub write: Vec<String>,
}

/// Access to add for one partner on one collection (`intel collection grant`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Grant {
    pub read: bool,
    pub write: bool,
    pub amber_strict: bool,
    pub red: bool,
}

impl Config {
    /// The collection named by id (any case) or alias.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(name) || c.alias.as_deref() == Some(name))
    }

    /// Add a partner with new Basic and API-key credentials; their secrets
    /// are returned (to be shown once). The identity defaults to the one
    /// derived from the id.
    pub fn add_partner(
        &mut self,
        path: &Path,
        id: &str,
        name: &str,
        identity: Option<String>,
    ) -> Result<IssuedSecrets, ConfigError> {
        if self.partners.iter().any(|p| p.id == id) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                field: "partner.id".into(),
                reason: format!("partner `{id}` already exists"),
            });
        }
        let (credentials, secrets) = issue_credentials(id)?;
        self.partners.push(Partner {
            identity: identity.unwrap_or_else(|| tripoint_stix::content::partner_identity_id(id)),
            id: id.to_string(),
            name: name.to_string(),
            credentials,
        });
        Ok(secrets)
    }

    /// Add a collection; returns its id.
    pub fn add_collection(&mut self, new: NewCollection) -> String {
        let id = new.id.unwrap_or_else(new_uuid);
        self.collections.push(Collection {
            id: id.clone(),
            api_root: new.api_root,
            title: new.title,
            description: None,
            alias: new.alias,
            read: new.read,
            write: new.write,
            cleared_amber_strict: vec![],
            cleared_red: vec![],
        });
        id
    }

    /// Give `partner` the access in `grant` on `collection` (id or alias);
    /// what it already has is kept.
    pub fn grant(
        &mut self,
        path: &Path,
        collection: &str,
        partner: &str,
        grant: Grant,
    ) -> Result<(), ConfigError> {
        let bad = |field: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: field.into(),
            reason,
        };
        if !(grant.read || grant.write || grant.amber_strict || grant.red) {
            return Err(bad(
                "grant",
                "nothing to grant: pass --read, --write, --amber-strict and/or --red".into(),
            ));
        }
        if !self.partners.iter().any(|p| p.id == partner) {
            return Err(bad("partner", format!("no partner `{partner}`")));
        }
        let c = self
            .collections
            .iter_mut()
            .find(|c| {
                c.id.eq_ignore_ascii_case(collection) || c.alias.as_deref() == Some(collection)
            })
            .ok_or_else(|| bad("collection", format!("no collection `{collection}`")))?;
        for (wanted, list) in [
            (grant.read, &mut c.read),
            (grant.write, &mut c.write),
            (grant.amber_strict, &mut c.cleared_amber_strict),
            (grant.red, &mut c.cleared_red),
        ] {
            if wanted && !list.iter().any(|p| p == partner) {
                list.push(partner.to_string());
            }
        }
        Ok(())
    }
}

/// Edit a configuration file: load it, apply `change`, validate the whole
/// result and replace the file atomically (0600). A running server reloads
/// it within a second; an error leaves the file as it was.
pub fn edit<T>(
    path: &Path,
    change: impl FnOnce(&mut Config) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let mut cfg = Config::load(path)?;
    let out = change(&mut cfg)?;
    cfg.save(path)?;
    Ok(out)
}

/// The three partners of the default setup: (id, name). Their identities are
/// `tripoint_stix::content::partner_identity_id(id)`, fixed across installations.
pub const TRILATERAL_PARTNERS: [(&str, &str); 3] = [
    ("us", "United States"),
    ("jp", "Japan"),
    ("kr", "Republic of Korea"),
];

/// Freshly generated secrets of one partner, shown once by `intel init`.
#[derive(Clone, Debug)]
pub struct IssuedSecrets {
    pub partner: String,
    pub username: String,
    pub password: String,
    /// `<key_id>.<secret>`, sent as `Authorization: Bearer …`.
    pub api_key: String,
}

/// A random secret: 244 bits from two v4 UUIDs (the OS RNG).
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A new random (v4) UUID, e.g. for a collection id.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// New Basic and API-key credentials for a partner, with the plain secrets.
pub fn issue_credentials(
    partner: &str,
) -> Result<(Vec<Credential>, IssuedSecrets), crate::auth::AuthError> {
    let password = random_secret();
    let key_id = format!(
        "{partner}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let key_secret = random_secret();
    let creds = vec![
        Credential::Basic {
            username: partner.to_string(),
            hash: crate::auth::hash_secret(&password)?,
        },
        Credential::ApiKey {
            key_id: key_id.clone(),
            hash: crate::auth::hash_secret(&key_secret)?,
        },
    ];
    Ok((
        creds,
        IssuedSecrets {
            partner: partner.to_string(),
            username: partner.to_string(),
            password,
            api_key: format!("{key_id}.{key_secret}"),
        },
    ))
}

impl Config {
    /// Add new operator credentials (Basic user `admin` and an API key) and
    /// return their secrets, shown once.
    pub fn issue_admin(&mut self) -> Result<IssuedSecrets, crate::auth::AuthError> {
        let (creds, secrets) = issue_credentials("admin")?;
        self.admin_credentials.extend(creds);
        Ok(secrets)
    }

    /// The default trilateral setup: US, JP and KR partners, API root
    /// `trilateral`, shared collections (actors, indicators, incidents) and one
    /// bilateral collection per pair, whose two members are cleared for TLP:RED.
    pub fn trilateral(
        storage: &str,
    ) -> Result<(Config, Vec<IssuedSecrets>), crate::auth::AuthError> {
        let mut partners = Vec::new();
        let mut secrets = Vec::new();
        for (id, name) in TRILATERAL_PARTNERS {
            let (credentials, issued) = issue_credentials(id)?;
            partners.push(Partner {
                id: id.into(),
                name: name.into(),
                identity: tripoint_stix::content::partner_identity_id(id),
                credentials,
            });
            secrets.push(issued);
        }
        let all: Vec<String> = TRILATERAL_PARTNERS
            .iter()
            .map(|p| p.0.to_string())
            .collect();
        let mut collections = Vec::new();
        for (n, (alias, title)) in [
            (
                "actors",
                "Threat actors, intrusion sets, campaigns and malware",
            ),
            (
                "indicators",
                "Indicators: wallets, domains, addresses, hashes",
            ),
            ("incidents", "Incidents, sightings and trace findings"),
        ]
        .into_iter()
        .enumerate()
        {
            collections.push(Collection {
                id: format!("6c1f3b7e-0a2d-4c9e-8f11-7a5b3c2d1e{:02x}", n + 1),
                api_root: "trilateral".into(),
                title: title.into(),
                description: None,
                alias: Some(alias.into()),
                read: all.clone(),
                write: all.clone(),
                cleared_amber_strict: vec![],
                cleared_red: vec![],
            });
        }
        for (n, (a, b)) in [("us", "jp"), ("us", "kr"), ("jp", "kr")]
            .into_iter()
            .enumerate()
        {
            let pair = vec![a.to_string(), b.to_string()];
            collections.push(Collection {
                id: format!("6c1f3b7e-0a2d-4c9e-8f11-7a5b3c2d1e{:02x}", 0x10 + n),
                api_root: "trilateral".into(),
                title: format!("Bilateral {}–{}", a.to_uppercase(), b.to_uppercase()),
                description: None,
                alias: Some(format!("{a}-{b}")),
                read: pair.clone(),
                write: pair.clone(),
                cleared_amber_strict: vec![],
                cleared_red: pair,
            });
        }
        Ok((
            Config {
                listen: default_listen(),
                storage: storage.to_string(),
                max_content_length: default_max_content_length(),
                max_page_size: default_max_page_size(),
                auth_failures_per_minute: default_auth_failures(),
                header_read_timeout_secs: default_header_timeout(),
                body_read_timeout_secs: default_body_timeout(),
                title: default_title(),
                description: Some("US–Japan–Korea exchange on DPRK cyber operations".into()),
                contact: None,
                default_api_root: Some("trilateral".into()),
                tls: None,
                partners,
                admin_credentials: vec![],
                api_roots: vec![ApiRoot {
                    path: "trilateral".into(),
                    title: "Trilateral working group".into(),
                    description: None,
                }],
                collections,
                federation: vec![],
            },
            secrets,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trilateral_config_round_trips_and_validates() {
        let (cfg, secrets) = Config::trilateral("intel.db").unwrap();
        assert_eq!(secrets.len(), 3);
        assert_eq!(cfg.collections.len(), 6);
        let text = toml::to_string_pretty(&cfg).unwrap();
        let back = Config::parse(&text, Path::new("x.toml")).unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn partner_ids_that_break_auth_or_the_audit_are_refused() {
        let (mut cfg, _) = Config::trilateral("intel.db").unwrap();
        for bad in ["admin", "-", "a.b", "c:d", "US", "", "x y", "1st"] {
            cfg.partners[0].id = bad.into();
            let err = cfg.validate(Path::new("c.toml")).unwrap_err();
            assert!(err.to_string().contains("partner[0].id"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_partner_without_identity_gets_the_derived_one() {
        let text = "[[partner]]\nid = \"au\"\nname = \"Australia\"\n";
        let cfg = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(
            cfg.partners[0].identity,
            tripoint_stix::content::partner_identity_id("au")
        );
    }

    #[cfg(unix)]
    #[test]
    fn saved_configuration_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (cfg, _) = Config::trilateral("intel.db").unwrap();
        cfg.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn admin_edits_check_what_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let (cfg, _) = Config::trilateral("intel.db").unwrap();
        cfg.save(&path).unwrap();
        let secrets = edit(&path, |c| c.add_partner(&path, "au", "Australia", None)).unwrap();
        assert_eq!(secrets.partner, "au");
        let err = edit(&path, |c| c.add_partner(&path, "au", "Again", None)).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        // An invalid id is refused by validation, and the file is unchanged.
        let before = std::fs::read(&path).unwrap();
        assert!(edit(&path, |c| c.add_partner(&path, "a.b", "Bad", None)).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);

        let id = edit(&path, |c| {
            Ok(c.add_collection(NewCollection {
                api_root: "trilateral".into(),
                title: "Five eyes".into(),
                alias: Some("fvey".into()),
                read: vec!["us".into()],
                ..Default::default()
            }))
        })
        .unwrap();
        let red = Grant {
            read: true,
            red: true,
            ..Default::default()
        };
        edit(&path, |c| c.grant(&path, "fvey", "au", red)).unwrap();
        edit(&path, |c| c.grant(&path, &id, "au", red)).unwrap();
        let cfg = Config::load(&path).unwrap();
        let c = cfg.collection("fvey").unwrap();
        assert_eq!(c.read, ["us", "au"]);
        assert_eq!(c.cleared_red, ["au"]);
        for (coll, partner, grant, want) in [
            ("fvey", "nz", red, "no partner `nz`"),
            ("nope", "au", red, "no collection `nope`"),
            ("fvey", "au", Grant::default(), "nothing to grant"),
        ] {
            let err = edit(&path, |c| c.grant(&path, coll, partner, grant)).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
        }
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let err = Config::parse("listen = \"a\"\nstorage = 3\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().starts_with("c.toml:2:"), "{err}");
        let text = "[[api_root]]\npath = \"r\"\ntitle = \"t\"\n[[collection]]\nid = \"not-a-uuid\"\napi_root = \"r\"\ntitle = \"t\"\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("collection[0].id"), "{err}");
        let text = "[[api_root]]\npath = \"r\"\ntitle = \"t\"\n[[collection]]\nid = \"6c1f3b7e-0a2d-4c9e-8f11-7a5b3c2d1e01\"\napi_root = \"r\"\ntitle = \"t\"\nread = [\"nobody\"]\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err();
        assert!(
            err.to_string().contains("unknown partner `nobody`"),
            "{err}"
        );
    }
}
