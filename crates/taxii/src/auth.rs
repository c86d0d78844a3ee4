//! Authentication: HTTP Basic and bearer API keys checked against argon2id
//! hashes from the configuration. Verifying argon2 costs tens of milliseconds
//! by design, so a verified `Authorization` value is remembered in memory (per
//! loaded configuration; a reload starts afresh) and later requests cost a
//! hash-map lookup. An unknown user name or key id is checked against a
//! dummy hash, so it costs what a known one with a wrong secret costs and
//! timing does not tell which names exist. The server runs the verification
//! on blocking threads ([`crate::service::Exchange::authenticate`]).

use crate::config::{Config, Credential};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("hashing the secret failed: {0}")]
    Hash(String),
}

/// The `Authorization` header value of HTTP Basic for `user`/`password`
/// (what clients send; used by our own benchmark client and tests).
pub fn basic_authorization(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

pub fn hash_secret(secret: &str) -> Result<String, AuthError> {
    // 16 salt bytes from a v4 UUID (the OS RNG via getrandom).
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random secret with the same parameters as real ones: what an
/// unknown user's attempt is verified against.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_secret(&crate::config::random_secret()).unwrap_or_else(|_| {
            // Not reachable with a valid salt; any PHC string keeps the path uniform.
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
        })
    })
}

/// What an `Authorization` value claims: a Basic user name and password, or
/// a Bearer key id and secret (`<key_id>.<secret>`).
enum Claim {
    Basic { user: String, password: String },
    Bearer { key_id: String, secret: String },
}

impl Claim {
    fn parse(authorization: &str) -> Option<Claim> {
        let (scheme, value) = authorization.trim().split_once(' ')?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            Some(Claim::Basic {
                user: user.to_string(),
                password: password.to_string(),
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let (key_id, secret) = value.split_once('.')?;
            Some(Claim::Bearer {
                key_id: key_id.to_string(),
                secret: secret.to_string(),
            })
        } else {
            None
        }
    }
}

/// The user name (Basic) or key id (Bearer) an `Authorization` value claims,
/// for per-user failure limits.
pub fn claimed_user(authorization: &str) -> Option<String> {
    match Claim::parse(authorization)? {
        Claim::Basic { user, .. } => Some(user),
        Claim::Bearer { key_id, .. } => Some(key_id),
    }
}

/// The "partner index" of the server's operators (admin credentials).
pub const ADMIN: usize = usize::MAX;

/// Remembered verifications are dropped wholesale past this many entries.
const CACHE_LIMIT: usize = 10_000;

pub struct Authenticator {
    /// (partner index, credential) pairs from the configuration.
    credentials: Vec<(usize, Credential)>,
    verified: Mutex<HashMap<String, usize>>,
}

impl Authenticator {
    pub fn new(config: &Config) -> Self {
        let credentials = config
            .partners
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.credentials.iter().map(move |c| (i, c.clone())))
            .chain(config.admin_credentials.iter().map(|c| (ADMIN, c.clone())))
            .collect();
        Authenticator {
            credentials,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The partner of an `Authorization` value verified before (no hashing).
    pub fn remembered(&self, authorization: &str) -> Option<usize> {
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(authorization)
            .copied()
    }

    /// The partner index an `Authorization` header value authenticates, if
    /// any. May run argon2: call it from a blocking thread.
    pub fn authenticate(&self, authorization: &str) -> Option<usize> {
        if let Some(p) = self.remembered(authorization) {
            return Some(p);
        }
        let partner = self.verify(authorization)?;
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(authorization.to_string(), partner);
        Some(partner)
    }

    fn verify(&self, authorization: &str) -> Option<usize> {
        match Claim::parse(authorization)? {
            Claim::Basic { user, password } => {
                let known = self.credentials.iter().find_map(|(p, c)| match c {
                    Credential::Basic { username, hash } if *username == user => Some((*p, hash)),
                    _ => None,
                });
                self.check(known, &password)
            }
            Claim::Bearer { key_id, secret } => {
                let known = self.credentials.iter().find_map(|(p, c)| match c {
                    Credential::ApiKey { key_id: id, hash } if *id == key_id => Some((*p, hash)),
                    _ => None,
                });
                self.check(known, &secret)
            }
        }
    }
}

impl Authenticator {
    /// One argon2 verification whether or not the name is known.
    fn check(&self, known: Option<(usize, &String)>, secret: &str) -> Option<usize> {
        match known {
            Some((p, hash)) => verify_secret(secret, hash).then_some(p),
            None => {
                let _ = verify_secret(secret, dummy_hash());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer_authenticate_only_with_the_right_secret() {
        let (cfg, secrets) = Config::trilateral("x.db").unwrap();
        let auth = Authenticator::new(&cfg);
        let basic = basic_authorization;
        assert_eq!(
            auth.authenticate(&basic("jp", &secrets[1].password)),
            Some(1)
        );
        assert_eq!(auth.authenticate(&basic("jp", &secrets[0].password)), None);
        assert_eq!(
            auth.authenticate(&format!("Bearer {}", secrets[2].api_key)),
            Some(2)
        );
        assert_eq!(
            auth.authenticate(&format!("Bearer {}x", secrets[2].api_key)),
            None
        );
        assert_eq!(auth.authenticate("Digest abc"), None);
        assert_eq!(claimed_user(&basic("jp", "x")).as_deref(), Some("jp"));
        // Secrets are never stored in the clear.
        let text = toml::to_string(&cfg).unwrap();
        assert!(!text.contains(&secrets[0].password));
        assert!(text.contains("$argon2id$"));
    }

    #[test]
    fn unknown_users_cost_what_known_users_with_a_wrong_password_cost() {
        let (cfg, _) = Config::trilateral("x.db").unwrap();
        let auth = Authenticator::new(&cfg);
        let _ = dummy_hash();
        let time = |header: &str| {
            let t = std::time::Instant::now();
            for _ in 0..3 {
                assert_eq!(auth.authenticate(header), None);
            }
            t.elapsed().as_secs_f64()
        };
        let known = time(&basic_authorization("jp", "wrong"));
        let unknown = time(&basic_authorization("nobody", "wrong"));
        // Before the dummy hash, an unknown user answered ~100x faster.
        assert!(
            unknown > known / 3.0,
            "unknown user {unknown:.4}s vs known user {known:.4}s"
        );
    }
}
