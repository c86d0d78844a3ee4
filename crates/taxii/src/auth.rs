//! Authentication: HTTP Basic and bearer API keys checked against argon2id
//! hashes from the configuration. Verifying argon2 costs tens of milliseconds
//! by design, so a verified `Authorization` value is remembered in memory (per
//! loaded configuration; a reload starts afresh) and later requests cost a
//! hash-map lookup.

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
            .collect();
        Authenticator {
            credentials,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The partner index an `Authorization` header value authenticates, if any.
    pub fn authenticate(&self, authorization: &str) -> Option<usize> {
        if let Some(&p) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(authorization)
        {
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
        let (scheme, value) = authorization.trim().split_once(' ')?;
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, password) = decoded.split_once(':')?;
            self.credentials.iter().find_map(|(p, c)| match c {
                Credential::Basic { username, hash }
                    if username == user && verify_secret(password, hash) =>
                {
                    Some(*p)
                }
                _ => None,
            })
        } else if scheme.eq_ignore_ascii_case("bearer") {
            let (id, secret) = value.split_once('.')?;
            self.credentials.iter().find_map(|(p, c)| match c {
                Credential::ApiKey { key_id, hash }
                    if key_id == id && verify_secret(secret, hash) =>
                {
                    Some(*p)
                }
                _ => None,
            })
        } else {
            None
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
        // Secrets are never stored in the clear.
        let text = toml::to_string(&cfg).unwrap();
        assert!(!text.contains(&secrets[0].password));
        assert!(text.contains("$argon2id$"));
    }
}
