//! Reads one JSON object per line on stdin and prints `OK` or the validation
//! issues joined by ` | `; used to compare the validator with the OASIS
//! `stix2-validator` on a corpus, and to time it (summary on stderr).

use std::io::BufRead;
use std::time::Instant;

fn main() {
    let mut n = 0u64;
    let mut spent = std::time::Duration::ZERO;
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                println!("JSON {e}");
                continue;
            }
        };
        let t = Instant::now();
        let r = tripoint_stix::validate(&v);
        spent += t.elapsed();
        n += 1;
        match r {
            Ok(()) => println!("OK"),
            Err(issues) => println!(
                "ERR {}",
                issues
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        }
    }
    if n > 0 {
        eprintln!(
            "validated {n} objects in {:.3} ms ({:.0} objects/s)",
            spent.as_secs_f64() * 1e3,
            n as f64 / spent.as_secs_f64()
        );
    }
}
