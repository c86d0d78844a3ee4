//! `tripoint labels`: import address labels (sanctions lists, Etherscan tags,
//! attributions) into a store, and list them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use tripoint_chain::{Address, Category, Label};
use tripoint_store::labels::{self, LabelFormat};
use tripoint_store::Store;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import label files (all files in one atomic import; identical labels are skipped).
    Import(ImportArgs),
    /// List labels, optionally of given addresses or one category.
    List(ListArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Store directory (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// Input format; `auto` detects it from the file name and header.
    #[arg(long, value_enum, default_value = "auto")]
    format: FormatArg,
    /// Label files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Auto,
    Csv,
    #[value(name = "ofac-0xb10c")]
    Ofac0xb10c,
    OfacEthUltrasound,
    Forta,
    DprkHackSeeds,
    OfacDprkCrypto,
}

#[derive(clap::Args)]
struct ListArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only labels of these addresses.
    addresses: Vec<String>,
    /// Only labels of this category (e.g. sanctioned, dprk-attributed, exchange).
    #[arg(long)]
    category: Option<String>,
    /// Output: table (people) or json (tools).
    #[arg(long, value_enum, default_value = "table")]
    format: OutFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Import(a) => import(a),
        Command::List(a) => list(a),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut all: Vec<Label> = Vec::new();
    for file in &args.files {
        let format = match args.format {
            FormatArg::Auto => labels::detect(file).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: cannot tell the label format; pass --format",
                    file.display()
                )
            })?,
            FormatArg::Csv => LabelFormat::Csv,
            FormatArg::Ofac0xb10c => LabelFormat::Ofac0xb10c,
            FormatArg::OfacEthUltrasound => LabelFormat::OfacEthUltrasound,
            FormatArg::Forta => LabelFormat::Forta,
            FormatArg::DprkHackSeeds => LabelFormat::DprkHackSeeds,
            FormatArg::OfacDprkCrypto => LabelFormat::OfacDprkCrypto,
        };
        let parsed = labels::parse_with_skips(format, file)?;
        println!(
            "{}: {} labels read as {}{}",
            file.display(),
            parsed.labels.len(),
            format.name(),
            if parsed.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} rows skipped (first: line {}: {})",
                    parsed.skipped.len(),
                    parsed.skipped[0].line,
                    parsed.skipped[0].reason
                )
            }
        );
        all.extend(parsed.labels);
    }
    let read = all.len();
    let store = Store::open_or_create(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let added = store.import_labels_added(all)?;
    let mut by_cat: BTreeMap<String, usize> = BTreeMap::new();
    for l in &added {
        *by_cat.entry(l.category.to_string()).or_default() += 1;
    }
    println!(
        "added {} labels ({} already stored or repeated)",
        added.len(),
        read - added.len()
    );
    for (cat, n) in by_cat {
        println!("  {cat:<16} {n}");
    }
    Ok(())
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let category: Option<Category> = args
        .category
        .as_deref()
        .map(|c| c.parse().expect("infallible"));
    let mut out: Vec<Label> = if args.addresses.is_empty() {
        store.all_labels()?
    } else {
        let mut v = Vec::new();
        for a in &args.addresses {
            let addr = Address::parse(a).with_context(|| format!("address '{a}'"))?;
            v.extend(store.labels_of(&addr));
        }
        v
    };
    if let Some(c) = &category {
        out.retain(|l| &l.category == c);
    }
    let mut text = String::new();
    match args.format {
        OutFormat::Json => text = serde_json::to_string_pretty(&out)? + "\n",
        OutFormat::Table => {
            use std::fmt::Write as _;
            let _ = writeln!(
                text,
                "{:<44} {:<16} {:<40} SOURCE",
                "ADDRESS", "CATEGORY", "LABEL"
            );
            for l in &out {
                let _ = writeln!(
                    text,
                    "{:<44} {:<16} {:<40} {}",
                    l.address.to_string(),
                    l.category.as_str(),
                    l.label,
                    l.source
                );
            }
        }
    }
    // A closed pipe (`| head`) is the reader's choice, not an error.
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(())
}
