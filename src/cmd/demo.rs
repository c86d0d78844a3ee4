//! `tripoint demo`: the main job on the embedded default, end to end.
//!
//! It runs the same subcommands a user would, as child processes of this very
//! binary, so the demo exercises exactly the public interface (and stays true
//! when a subcommand evolves): generate a laundering scenario, ingest it into
//! the embedded store, label it, trace the theft, score the trace against the
//! generator's ground truth, then set up the intel exchange and compute the
//! ews board. What each step prints goes to files in the demo folder; the
//! screen gets one summary (the trace's `--format summary`, the scores, the
//! three early-warning alerts that matter most), the list of files, and
//! hints that run as printed.

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

/// Files the demo writes beside the summary, with what they hold.
const FILES: &[(&str, &str)] = &[
    (
        "steps.log",
        "what each step printed (generator, ingest, labels)",
    ),
    (
        "trace.txt",
        "the full trace: totals, endpoints, addresses, paths, spam",
    ),
    ("trace.json", "the same report for tools (exact base units)"),
    (
        "eval.json",
        "precision/recall against the generator's ground truth",
    ),
    (
        "intel.txt",
        "exchange set-up, partner secrets (0600) and audit",
    ),
    (
        "ews-board.txt",
        "the full early-warning board with reasons and alerts",
    ),
];

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = prepare_dir(&args.dir)?;
    let scenario = dir.join("scenario");
    let store = dir.join("store");
    let (s, st) = (path_str(&scenario)?, path_str(&store)?);
    let log = dir.join("steps.log");
    // Progress on stderr, cleared before the summary (hidden when not a terminal).
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .expect("static template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));

    bar.set_message("1/7 generating a DPRK-style laundering scenario");
    let n = args.transfers.to_string();
    let seed = args.seed.to_string();
    to_file(
        &["gen", "--out", s, "--seed", &seed, "--transfers", &n],
        &log,
    )?;

    bar.set_message("2/7 ingesting it into the embedded graph store");
    let txs = scenario.join("transactions.csv");
    let tts = scenario.join("token_transfers.csv");
    let tokens = scenario.join("tokens.csv");
    to_file(
        &[
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
        ],
        &log,
    )?;

    bar.set_message("3/7 importing what investigators already know (labels)");
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
    to_file(&cmd, &log)?;

    bar.set_message("4/7 following the money from the theft (haircut policy)");
    let truth_path = scenario.join("truth.json");
    let truth = tripoint_gen::GroundTruth::read(&truth_path)?;
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
    let trace = [
        "trace", "--store", st, "--seed", &seed_list, "--from", &from, "--policy", "haircut",
        "--format",
    ];
    let json = tripoint_output(&[&trace[..], &["json"]].concat())?;
    write(&dir.join("trace.json"), &json)?;
    write(
        &dir.join("trace.txt"),
        &tripoint_output(&[&trace[..], &["table"]].concat())?,
    )?;
    let summary = tripoint_output(&[&trace[..], &["summary"]].concat())?;
    let report: serde_json::Value = serde_json::from_slice(&json).context("reading trace.json")?;

    bar.set_message("5/7 scoring the trace against the ground truth");
    let scores = tripoint_output(&[
        "eval",
        "--store",
        st,
        "--truth",
        path_str(&truth_path)?,
        "--format",
        "json",
    ])?;
    write(&dir.join("eval.json"), &scores)?;
    let scores: serde_json::Value = serde_json::from_slice(&scores).context("reading eval.json")?;

    bar.set_message("6/7 setting up the trilateral TAXII exchange");
    let intel_config = intel(&dir)?;

    bar.set_message("7/7 computing the supply-chain early-warning board");
    let ews = ews_board(&dir)?;
    bar.finish_and_clear();

    // The first screen: the answer, then where everything else is.
    let mut out = String::new();
    out.push_str(&format!(
        "tripoint demo: a generated DPRK-style theft (SYNTHETIC scenario, seed {}, {} transfers), traced with the haircut policy\n\n",
        args.seed,
        tripoint_chain::group_digits(&args.transfers.to_string())
    ));
    out.push_str(&String::from_utf8_lossy(&summary));
    let pr = |k: &str| {
        let v = &scores[k];
        format!(
            "precision {:.3} recall {:.3}",
            v["precision"].as_f64().unwrap_or(f64::NAN),
            v["recall"].as_f64().unwrap_or(f64::NAN)
        )
    };
    out.push_str(&format!(
        "\nCHECKED against the generator's ground truth: laundering addresses {}; endpoints {}\n",
        pr("laundering_addresses"),
        pr("endpoints")
    ));
    out.push_str(&ews.summary);

    let shown = args.dir.display().to_string();
    out.push_str(&format!("\nEverything else is in {shown}/:\n"));
    let mut t = tripoint_trace::text::TextTable::new(&[
        ("file", tripoint_trace::text::Align::Left),
        ("what", tripoint_trace::text::Align::Left),
    ])
    .indent(2);
    for (f, what) in FILES {
        t.row(vec![f.to_string(), what.to_string()]);
    }
    out.push_str(&t.render());

    // Hints: each runs as printed (tests/it/demo.rs runs them).
    let store_shown = format!("{shown}/store");
    let mut hints = vec![format!(
        "tripoint trace --store {} --seed {} --from {} --format table",
        quote(&store_shown),
        seed_list,
        from
    )];
    if let Some(addr) = report["endpoints"]
        .as_array()
        .and_then(|e| e.first())
        .and_then(|e| e["address"].as_str())
    {
        hints.push(format!(
            "tripoint screen --store {} {addr}",
            quote(&store_shown)
        ));
    }
    hints.push(ews.hint);
    hints.push(format!(
        "tripoint intel audit --config {} --limit 5",
        quote(&format!("{shown}/intel/{}", intel_config))
    ));
    out.push_str("\nNext:\n");
    for h in &hints {
        out.push_str(&format!("  {h}\n"));
    }
    print!("{out}");
    Ok(())
}

/// What the demo shows of the early-warning board.
struct EwsPart {
    summary: String,
    /// The command that prints the same board.
    hint: String,
}

/// Write the full board to `ews-board.txt` (through `tripoint ews status`, as
/// a user would see it) and pick the three alerts that matter most.
fn ews_board(dir: &Path) -> anyhow::Result<EwsPart> {
    use tripoint_ews::chrono::NaiveDate;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let today = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + tripoint_ews::chrono::Duration::days((secs / 86_400) as i64);
    let at = today.format("%Y-%m-%d").to_string();
    let data = super::util::shared_data_dir()
        .map(|d| d.join("ews"))
        .filter(|d| d.is_dir());
    let (ds, source) = match &data {
        Some(d) => (
            tripoint_ews::Dataset::load_dir(d)?,
            format!("--data {}", quote(path_str(d)?)),
        ),
        None => (
            tripoint_ews::synthetic_dataset(7),
            "--synthetic 7".to_string(),
        ),
    };
    let hint = format!("tripoint ews status {source} --at {at}");
    let mut args = vec!["ews", "status", "--at", &at];
    let data_str;
    match &data {
        Some(d) => {
            data_str = path_str(d)?.to_string();
            args.extend(["--data", &data_str]);
        }
        None => args.extend(["--synthetic", "7"]),
    }
    write(&dir.join("ews-board.txt"), &tripoint_output(&args)?)?;

    let board = tripoint_ews::board(&ds, &tripoint_ews::Config::default(), today, &[]);
    let alerts = board.most_pressing(3);
    let mut s = format!(
        "\nEARLY WARNING: the {} alerts that matter most of {} open (board as of {at}{})\n",
        alerts.len(),
        board.open_alerts.len(),
        if board.synthetic {
            "; SYNTHETIC data, not real figures"
        } else {
            ""
        }
    );
    let mut t = tripoint_trace::text::TextTable::new(&[
        ("level", tripoint_trace::text::Align::Left),
        ("mineral", tripoint_trace::text::Align::Left),
        ("partners", tripoint_trace::text::Align::Left),
        ("kind", tripoint_trace::text::Align::Left),
        ("open since", tripoint_trace::text::Align::Left),
        ("why", tripoint_trace::text::Align::Left),
    ])
    .indent(2);
    for a in &alerts {
        let partners: Vec<String> = a.partners.iter().map(ToString::to_string).collect();
        let why = clip(a.latest_detail(), 64);
        t.row(vec![
            a.severity.name().to_string(),
            a.mineral.name().to_string(),
            partners.join(","),
            format!("{}, {}", a.family.name(), a.standing.name()),
            format!(
                "{} ({} days)",
                a.first_fired,
                tripoint_chain::group_digits(&a.age_days.to_string())
            ),
            why,
        ]);
    }
    s.push_str(&t.render());
    Ok(EwsPart { summary: s, hint })
}

/// At most `n` characters, cut at a word boundary, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let cut: String = s.chars().take(n).collect();
    let word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", word.trim_end_matches([',', ';', ':']))
}

/// A path or argument as a shell reads it: single-quoted when it holds
/// anything beyond plain path characters.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:,=+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Run a subcommand and append what it prints to `file`.
fn to_file(args: &[&str], file: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let out = tripoint_output(args)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    writeln!(f, "$ tripoint {}", args.join(" "))?;
    f.write_all(&out)?;
    Ok(())
}

/// Set up the default trilateral exchange on the embedded SQLite store and load
/// content: MITRE ATT&CK's DPRK groups and OFAC's DPRK crypto addresses when the
/// shared data is present, generated STIX content otherwise.
fn intel(dir: &Path) -> anyhow::Result<&'static str> {
    let intel_dir = dir.join("intel");
    std::fs::create_dir_all(&intel_dir)?;
    let config = intel_dir.join("intel.toml");
    let cfg = path_str(&config)?;
    // The set-up prints partner secrets: the file is private.
    let log = dir.join("intel.txt");
    write(&log, b"")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600))?;
    }
    let tripoint = |args: &[&str]| to_file(args, &log);
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
    Ok("intel.toml")
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

/// Run a subcommand of this same binary and return its stdout (its stderr,
/// warnings and progress, goes to the user).
fn tripoint_output(args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let exe = std::env::current_exe().context("locating the tripoint binary")?;
    let out = Command::new(exe)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("starting tripoint {}", args.join(" ")))?;
    if !out.status.success() {
        bail!("`tripoint {}` failed ({})", args.join(" "), out.status);
    }
    Ok(out.stdout)
}
