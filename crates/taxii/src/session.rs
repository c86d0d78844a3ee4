//! Console sign-in sessions. A partner signs in to the web console with its
//! TAXII credentials (checked by [`crate::service::Exchange::authenticate`],
//! so the same argon2 hashes and failure limits apply) and gets a random
//! session token in a cookie. The gate ([`crate::server`]) turns a live
//! token back into the same [`Caller`] a Basic header gives, so every console
//! request is authenticated and audited by the one gate.
//!
//! Sessions live in memory only: a restart signs everyone out, and no token
//! is ever written to disk. The map is keyed by the SHA-256 of the token, so
//! even a memory dump does not hold a usable cookie value.

use crate::service::Caller;
use base64::Engine;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tripoint_session";
/// A session ends this long after sign-in (the cookie's `Max-Age` too).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// The URL path prefix the session cookie is valid for.
pub const CONSOLE_PATH: &str = "/console/";
/// More live sessions than this and the oldest half is dropped.
const MAX_SESSIONS: usize = 100_000;

/// A signed-in partner, as the gate hands it to console handlers.
#[derive(Clone, Debug)]
pub struct Session {
    pub caller: Caller,
    /// The token every form of this session must carry (CSRF).
    pub csrf: String,
    /// When the session ends (microseconds since the epoch).
    pub expires_us: i64,
}

/// The session the gate found for a console request, with its raw token (for
/// sign-out).
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    pub token: String,
    pub session: Session,
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed")]
pub struct RandomError;

/// A fresh 256-bit random token, URL-safe base64 without padding.
pub fn random_token() -> Result<String, RandomError> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| RandomError)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// Compare two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn key(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

/// The live sessions of one server.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start a session for `caller`; returns the cookie token and the session.
    pub fn create(&self, caller: Caller) -> Result<(String, Session), RandomError> {
        let token = random_token()?;
        let session = Session {
            caller,
            csrf: random_token()?,
            expires_us: crate::model::now_micros() + SESSION_TTL.as_micros() as i64,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::model::now_micros();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires_us > now);
            if map.len() >= MAX_SESSIONS {
                let mut ends: Vec<i64> = map.values().map(|s| s.expires_us).collect();
                ends.sort_unstable();
                let cut = ends[ends.len() / 2];
                map.retain(|_, s| s.expires_us > cut);
            }
        }
        map.insert(key(&token), session.clone());
        Ok((token, session))
    }

    /// The live session of `token` (an expired one is removed).
    pub fn get(&self, token: &str) -> Option<Session> {
        let k = key(token);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&k) {
            Some(s) if s.expires_us > crate::model::now_micros() => Some(s.clone()),
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    /// End the session of `token` (sign-out).
    pub fn end(&self, token: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(token));
    }

    /// How many sessions are held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in a `Cookie` header value.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            partner: "us".into(),
            identity: "identity--x".into(),
        }
    }

    #[test]
    fn a_session_is_found_by_its_token_only_and_ends() {
        let s = Sessions::new();
        let (token, session) = s.create(caller()).unwrap();
        assert_eq!(s.get(&token).unwrap().caller.partner, "us");
        assert_ne!(token, session.csrf);
        assert!(s.get(&format!("{token}x")).is_none());
        s.end(&token);
        assert!(s.get(&token).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn tokens_differ_and_are_256_bits() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn cookie_parsing_and_secret_comparison() {
        let h = "a=1; tripoint_session=abc ; b=2";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(h, "tripoint"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
