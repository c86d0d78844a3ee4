//! The HTTP load tool `tripoint bench intel` drives every server with, so
//! tripoint and its peers are measured by the same client in the same run:
//! a fixed number of workers on keep-alive connections, each request timed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// `GET` or `POST`.
    pub method: &'static str,
    pub url: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// POST bodies, used round-robin (one per request); empty for GET.
    pub bodies: Arc<Vec<String>>,
    pub requests: usize,
    pub concurrency: usize,
    /// Stop issuing new requests after this long (slow peers still get measured).
    pub max_duration: Duration,
    /// An untimed GET per worker first (connection set-up, credential cache),
    /// e.g. the discovery URL.
    pub warmup_url: Option<String>,
    /// Give up on one request after this long (it counts as an error).
    pub request_timeout: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    pub ok: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
}

impl LoadResult {
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// The p-th percentile latency (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut ms: Vec<f64> = self
            .latencies_us
            .iter()
            .map(|&us| us as f64 / 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        crate::stats::percentile(&ms, p / 100.0)
    }
}

fn one(agent: &ureq::Agent, spec: &LoadSpec, i: usize) -> Result<(), String> {
    let req = agent
        .request(spec.method, &spec.url)
        .set("Authorization", &spec.authorization)
        .set("Accept", "application/taxii+json;version=2.1");
    let resp = if spec.method == "POST" {
        let body = &spec.bodies[i % spec.bodies.len().max(1)];
        req.set("Content-Type", "application/taxii+json;version=2.1")
            .send_string(body)
    } else {
        req.call()
    };
    match resp {
        Ok(r) => {
            // Read the whole body: the page is part of the cost.
            r.into_string().map(|_| ()).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Run the load and collect per-request latencies.
pub fn run(spec: &LoadSpec) -> LoadResult {
    let issued = Arc::new(AtomicUsize::new(0));
    let result = Arc::new(Mutex::new(LoadResult::default()));
    let concurrency = spec.concurrency.max(1);
    // Warm-up outside the timed window.
    let agents: Vec<ureq::Agent> = (0..concurrency)
        .map(|_| {
            ureq::AgentBuilder::new()
                .timeout(spec.request_timeout)
                .build()
        })
        .collect();
    if let Some(url) = &spec.warmup_url {
        for agent in &agents {
            let _ = agent
                .get(url)
                .set("Authorization", &spec.authorization)
                .set("Accept", "application/taxii+json;version=2.1")
                .call()
                .map(|r| r.into_string());
        }
    }
    let start = Instant::now();
    std::thread::scope(|scope| {
        for agent in &agents {
            let issued = issued.clone();
            let result = result.clone();
            scope.spawn(move || {
                let mut local = Vec::new();
                let mut errors = 0;
                let mut first_error = None;
                loop {
                    let i = issued.fetch_add(1, Ordering::Relaxed);
                    if i >= spec.requests || (i > 0 && start.elapsed() > spec.max_duration) {
                        break;
                    }
                    let t = Instant::now();
                    match one(agent, spec, i) {
                        Ok(()) => local.push(t.elapsed().as_micros() as u64),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                let mut r = result.lock().unwrap_or_else(|e| e.into_inner());
                r.ok += local.len();
                r.errors += errors;
                if r.first_error.is_none() {
                    r.first_error = first_error;
                }
                r.latencies_us.extend(local);
            });
        }
    });
    let mut r = Arc::try_unwrap(result)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|a| a.lock().unwrap_or_else(|e| e.into_inner()).clone());
    r.elapsed = start.elapsed();
    r
}
