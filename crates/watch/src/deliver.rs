//! Webhook delivery: every stored alert, and every retraction of an alert
//! the webhook got, is POSTed to it, signed, in the order stored, until the
//! webhook answers 2xx (at least once; retries back off exponentially; a
//! receiver de-duplicates alerts on `alert_id`, retractions on
//! `retraction_id`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::outbox::{now_ms, Outbox};
use crate::WatchError;

/// Header with the signature: `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Tripoint-Signature";
/// Header with the unix time (seconds) the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Tripoint-Timestamp";
/// Header repeating the alert's id (of a retraction: the id of the alert it
/// withdraws).
pub const ALERT_ID_HEADER: &str = "X-Tripoint-Alert-Id";
/// Header saying what the body is: `alert` or `retraction`.
pub const EVENT_HEADER: &str = "X-Tripoint-Event";
/// Header with a retraction's `retraction_id`, for de-duplication without
/// parsing (alerts are de-duplicated on their id).
pub const RETRACTION_ID_HEADER: &str = "X-Tripoint-Retraction-Id";

/// The delivery target name of a webhook URL.
pub fn target_of(url: &str) -> String {
    format!("webhook:{url}")
}

/// `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<body>"`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Delay before retry number `attempts` (1-based): 0.5 s doubling, at most 60 s.
pub fn backoff(attempts: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << attempts.saturating_sub(1).min(7));
    Duration::from_millis(ms.min(60_000))
}

/// Read a webhook secret file: its content, trimmed; refused when empty.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, WatchError> {
    let s = std::fs::read_to_string(path).map_err(|e| WatchError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let s = s.trim();
    if s.is_empty() {
        return Err(WatchError::Config(format!(
            "--webhook-secret-file {}: the file is empty",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "watch: warning: {} is readable by others; chmod 600 it",
                    path.display()
                );
            }
        }
    }
    Ok(s.as_bytes().to_vec())
}

/// The delivery loop (one thread): sends what is due, sleeps until the next
/// retry or until `wake` says new alerts were stored, ends on `stop`.
pub fn webhook_loop(
    store_dir: &Path,
    urls: &[String],
    secret: &[u8],
    wake: Receiver<()>,
    stop: &AtomicBool,
) -> Result<(), WatchError> {
    let db = Outbox::open(store_dir)?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build();
    while !stop.load(Ordering::Relaxed) {
        for url in urls {
            let target = target_of(url);
            for p in db.due(&target, now_ms(), 100)? {
                if stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let ts = now_ms() / 1000;
                let sig = sign(secret, ts, p.body.as_bytes());
                let req = agent
                    .post(url)
                    .set("Content-Type", "application/json")
                    .set(SIGNATURE_HEADER, &sig)
                    .set(TIMESTAMP_HEADER, &ts.to_string());
                let req = match &p.retracts {
                    None => req
                        .set(EVENT_HEADER, "alert")
                        .set(ALERT_ID_HEADER, &p.alert_id),
                    Some(alert_id) => req
                        .set(EVENT_HEADER, crate::retract::EVENT)
                        .set(ALERT_ID_HEADER, alert_id)
                        .set(RETRACTION_ID_HEADER, &p.alert_id),
                };
                let r = req.send_string(&p.body);
                match r {
                    Ok(_) => db.delivered(&p.alert_id, &target)?,
                    Err(e) => {
                        let attempts = p.attempts + 1;
                        let wait = backoff(attempts);
                        let msg = match e {
                            ureq::Error::Status(code, _) => format!("HTTP {code}"),
                            ureq::Error::Transport(t) => t.to_string(),
                        };
                        eprintln!(
                            "watch: webhook {url}: delivery of {} failed (attempt {attempts}): {msg}; retrying in {:.1} s",
                            p.alert_id,
                            wait.as_secs_f64()
                        );
                        db.failed(
                            &p.alert_id,
                            &target,
                            &msg,
                            now_ms() + wait.as_millis() as i64,
                        )?;
                        // The webhook is down: leave its other alerts for the retry.
                        break;
                    }
                }
            }
        }
        let mut sleep = Duration::from_millis(1000);
        for url in urls {
            if let Some(at) = db.next_due(&target_of(url))? {
                let d = Duration::from_millis((at - now_ms()).max(0) as u64);
                sleep = sleep.min(d);
            }
        }
        match wake.recv_timeout(sleep.max(Duration::from_millis(5))) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Python: hmac.new(b"k", b"17.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"k", 17, b"{}"),
            "sha256=bd99635732284660511c87d0719be6865abfda44a64564cf7d2b74e0f48525a1"
        );
        assert_ne!(sign(b"k", 18, b"{}"), sign(b"k", 17, b"{}"));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_millis(1000));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }
}
