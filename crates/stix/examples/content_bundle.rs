//! Prints one STIX bundle with tripoint's shipped content and, given the
//! `shared/data/intel` folder, the OFAC and MISP imports; used to check the
//! output with external tools such as `stix2_validator`:
//!
//! `cargo run -p tripoint-stix --example content_bundle -- ../shared/data/intel > all.json`

use serde_json::{json, Value};
use tripoint_stix::{content, import, tlp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut objects: Vec<Value> = tlp::marking_definitions();
    objects.push(content::tripoint_identity());
    objects.extend(content::trilateral_identities());
    objects.push(content::crypto_wallet_extension_definition());
    objects.extend(content::synthetic_objects(
        1,
        50,
        &content::Partner::Japan.identity_id(),
    ));
    if let Some(dir) = std::env::args().nth(1) {
        let dir = std::path::Path::new(&dir);
        let ofac = std::fs::read(
            dir.join("ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json"),
        )?;
        objects.extend(import::ofac_dprk_crypto(&ofac)?);
        let misp = std::fs::read(dir.join("misp-galaxy-dprk/threat-actor-dprk.json"))?;
        objects.extend(import::misp_galaxy_dprk(&misp)?);
    }
    // Importers are self-contained and may repeat shared objects.
    let mut seen = std::collections::HashSet::new();
    objects.retain(|o| seen.insert(o["id"].as_str().unwrap_or_default().to_string()));
    let bundle = json!({
        "type": "bundle",
        "id": tripoint_stix::ids::derived_id("bundle", "content-example"),
        "objects": objects
    });
    println!("{}", serde_json::to_string_pretty(&bundle)?);
    Ok(())
}
