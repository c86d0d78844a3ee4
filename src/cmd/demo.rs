//! `tripoint demo`: the main job on the embedded default, end to end.
//!
//! It runs the same subcommands a user would, as child processes of this very
//! binary, so the demo exercises exactly the public interface (and stays true
//! when a subcommand evolves): generate a laundering scenario, ingest it into
//! the embedded store, label it, trace the theft, score the trace against the
//! generator's ground truth, then show the intel and ews engines.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// A file the demo leaves in its folder, so that a re-run may clear the folder
/// without any risk of deleting something the user made.
const MARKER: &str = ".tripoint-demo";

#[derive(clap::Args)]
pub struct Args {
    /// Working folder for the scenario, the store and the reports (cleared on each run).
    #[arg(long, default_value = ".tripoint/demo")]
    dir: PathBuf,
    /// Transfers in the generated scenario.
    #[arg(long, default_value_t = 1_000_000)]
    transfers: u64,
    /// Seed of the generated scenario (same seed, same data).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = prepare_dir(&args.dir)?;
    let scenario = dir.join("scenario");
    let store = dir.join("store");
    let (s, st) = (path_str(&scenario)?, path_str(&store)?);

    step("1/7 generate a DPRK-style laundering scenario");
    let n = args.transfers.to_string();
    let seed = args.seed.to_string();
    tripoint(&["gen", "--out", s, "--seed", &seed, "--transfers", &n])?;

    step("2/7 ingest it into the embedded graph store");
    let txs = scenario.join("transactions.csv");
    let tts = scenario.join("token_transfers.csv");
    let tokens = scenario.join("tokens.csv");
    tripoint(&[
        "ingest",
        "--store",
        st,
        "ethereum-etl",
        "--transactions",
        path_str(&txs)?,
        "--token-transfers",
        path_str(&tts)?,
        "--tokens",
        path_str(&tokens)?,
    ])?;

    step("3/7 import what investigators already know (labels)");
    let mut label_files = vec![scenario.join("labels.csv")];
    if let Some(shared) = super::util::shared_data_dir() {
        let ofac = shared.join("crypto/ofac-eth-ultrasound/data.csv");
        if ofac.is_file() {
            label_files.push(ofac);
        }
    }
    let mut cmd = vec!["labels", "import", "--store", st];
    for f in &label_files {
        cmd.push(path_str(f)?);
    }
    tripoint(&cmd)?;

    step("4/7 follow the money from the theft (haircut policy)");
    let truth_path = scenario.join("truth.json");
    let truth = super::eval::read_ground_truth(&truth_path)?;
    if truth.seeds.addresses.is_empty() {
        bail!("{}: no seeds.addresses", truth_path.display());
    }
    let seeds: Vec<String> = truth
        .seeds
        .addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    let from = truth.seeds.start_time.to_string();
    let seed_list = seeds.join(",");
    let report = dir.join("trace.json");
    // The table is for the reader, the JSON for tools; the trace itself takes milliseconds.
    let trace = [
        "trace", "--store", st, "--seed", &seed_list, "--from", &from, "--policy", "haircut",
        "--format",
    ];
    let json = tripoint_output(&[&trace[..], &["json"]].concat())?;
    std::fs::write(&report, &json).with_context(|| format!("writing {}", report.display()))?;
    tripoint(&[&trace[..], &["table"]].concat())?;
    println!("full JSON report: {}", report.display());

    step("5/7 score the trace against the generator's ground truth");
    tripoint(&["eval", "--store", st, "--truth", path_str(&truth_path)?])?;

    step("6/7 trilateral threat-intelligence exchange (STIX 2.1 / TAXII 2.1)");
    intel(&dir)?;

    step("7/7 supply-chain early warning board");
    let mut ews = vec!["ews", "status"];
    let ews_data = super::util::shared_data_dir().map(|d| d.join("ews"));
    let ews_data_str;
    if let Some(d) = ews_data.as_deref().filter(|d| d.is_dir()) {
        ews_data_str = path_str(d)?.to_string();
        ews.extend(["--data", &ews_data_str]);
    } else {
        println!("(no ../shared/data: the board runs on the generated, clearly-labelled SYNTHETIC data set)");
        ews.extend(["--synthetic", "7"]);
    }
    tripoint(&ews)?;

    println!(
        "\ndemo finished; everything it made is in {}",
        dir.display()
    );
    Ok(())
}

/// Set up the default trilateral exchange on the embedded SQLite store and load
/// content: MITRE ATT&CK's DPRK groups and OFAC's DPRK crypto addresses when the
/// shared data is present, generated STIX content otherwise.
fn intel(dir: &Path) -> anyhow::Result<()> {
    let intel_dir = dir.join("intel");
    std::fs::create_dir_all(&intel_dir)?;
    let config = intel_dir.join("intel.toml");
    let cfg = path_str(&config)?;
    tripoint(&["intel", "init", "--config", cfg])?;
    let shared = super::util::shared_data_dir();
    let attack = shared
        .as_ref()
        .map(|d| d.join("intel/mitre-attack-dprk/dprk-attack-v18.1.stix21.json"))
        .filter(|p| p.is_file());
    let ofac = shared
        .as_ref()
        .map(|d| d.join("intel/ofac-dprk-crypto/ofac-sdn-dprk-digital-currency-addresses.json"))
        .filter(|p| p.is_file());
    match (attack, ofac) {
        (Some(attack), Some(ofac)) => {
            tripoint(&[
                "intel",
                "import",
                "--config",
                cfg,
                "--collection",
                "actors",
                path_str(&attack)?,
            ])?;
            tripoint(&[
                "intel",
                "import",
                "--config",
                cfg,
                "--collection",
                "indicators",
                "--format",
                "ofac-dprk-crypto",
                path_str(&ofac)?,
            ])?;
        }
        _ => {
            let us = tripoint_stix::content::partner_identity_id("us");
            let mut objects = tripoint_stix::content::trilateral_identities();
            objects.extend(tripoint_stix::content::synthetic_objects(7, 500, &us));
            let bundle = serde_json::json!({
                "type": "bundle",
                "id": "bundle--6f1f0c5e-6a43-4f8e-9a0e-2f7d4c1b9a10",
                "objects": objects,
            });
            let file = intel_dir.join("generated-bundle.json");
            std::fs::write(&file, serde_json::to_vec_pretty(&bundle)?)?;
            println!("(no ../shared/data: importing generated STIX content)");
            tripoint(&[
                "intel",
                "import",
                "--config",
                cfg,
                "--collection",
                "indicators",
                path_str(&file)?,
            ])?;
        }
    }
    tripoint(&["intel", "audit", "--config", cfg, "--limit", "5"])?;
    println!("serve it over TAXII 2.1 with: tripoint serve --config {cfg}");
    Ok(())
}

fn prepare_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "{} exists and was not made by `tripoint demo`; choose another --dir",
                    dir.display()
                );
            }
        } else {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(MARKER), b"made by tripoint demo\n")?;
    Ok(dir.to_path_buf())
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

fn step(title: &str) {
    println!("\n== {title}");
}

/// Run a subcommand of this same binary; its stdout is returned when
/// `capture` is set and shown to the user otherwise (stderr is always shown).
fn run_child(args: &[&str], capture: bool) -> anyhow::Result<Vec<u8>> {
    let exe = std::env::current_exe().context("locating the tripoint binary")?;
    let stdout = if capture {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::inherit()
    };
    let out = Command::new(exe)
        .args(args)
        .stdout(stdout)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("starting tripoint {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("`tripoint {}` failed ({})", args.join(" "), out.status);
    }
    Ok(out.stdout)
}

/// Run a subcommand with its output shown to the user.
fn tripoint(args: &[&str]) -> anyhow::Result<()> {
    run_child(args, false).map(drop)
}

/// Run a subcommand and return its stdout.
fn tripoint_output(args: &[&str]) -> anyhow::Result<Vec<u8>> {
    run_child(args, true)
}
