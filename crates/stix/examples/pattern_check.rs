//! Reads one STIX pattern per line on stdin and prints `OK <canonical form>`
//! or `ERR <position> <message>`; used to compare the parser with the OASIS
//! reference validator (`stix2patterns`) on a corpus.

use std::io::BufRead;

fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        match tripoint_stix::pattern::parse(&line) {
            Ok(p) => println!("OK {p}"),
            Err(e) => println!("ERR {} {}", e.position, e.message),
        }
    }
}
