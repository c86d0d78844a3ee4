//! `tripoint labels`: import address labels (GraphSense TagPacks and actor
//! packs, Etherscan name tags, sanctions lists, attributions) into a store,
//! show the labels of an address, and list them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use tripoint_chain::Actor;
use tripoint_chain::{Address, Category, Label};
use tripoint_ingest::labels::{self, LabelFormat};
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
    /// Show every label of one address with its attribution (actor, jurisdictions, confidence, lastmod).
    Show(ShowArgs),
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

#[derive(clap::Args)]
struct ShowArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// The address (Ethereum 0x… or Bitcoin).
    address: String,
    /// Output format: `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "table")]
    format: OutFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Auto,
    /// GraphSense TagPack (YAML).
    Tagpack,
    /// GraphSense actor pack (YAML): actors and their jurisdictions.
    Actorpack,
    /// Etherscan name tags (JSON: accounts, or token contracts when the file name says `token`).
    Etherscan,
    /// Same as ofac-0xb10c.
    Ofac,
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
        Command::Show(a) => show(a),
        Command::List(a) => list(a),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let mut all: Vec<Label> = Vec::new();
    let mut actors: Vec<Actor> = Vec::new();
    for file in &args.files {
        let format = match args.format {
            FormatArg::Auto => labels::detect(file).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: cannot tell the label format; pass --format",
                    file.display()
                )
            })?,
            FormatArg::Tagpack => LabelFormat::Tagpack,
            FormatArg::Actorpack => LabelFormat::Actorpack,
            FormatArg::Etherscan => LabelFormat::Etherscan,
            FormatArg::Csv => LabelFormat::Csv,
            FormatArg::Ofac | FormatArg::Ofac0xb10c => LabelFormat::Ofac0xb10c,
            FormatArg::OfacEthUltrasound => LabelFormat::OfacEthUltrasound,
            FormatArg::Forta => LabelFormat::Forta,
            FormatArg::DprkHackSeeds => LabelFormat::DprkHackSeeds,
            FormatArg::OfacDprkCrypto => LabelFormat::OfacDprkCrypto,
        };
        let parsed = labels::parse_with_skips(format, file)?;
        println!(
            "{}: {} {} read as {}{}",
            file.display(),
            if format == LabelFormat::Actorpack {
                parsed.actors.len()
            } else {
                parsed.labels.len()
            },
            if format == LabelFormat::Actorpack {
                "actors"
            } else {
                "labels"
            },
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
        actors.extend(parsed.actors);
    }
    let read = all.len();
    let store = Store::open_or_create(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let imported = store.import_attribution(all, actors)?;
    let added = imported.labels;
    let mut by_cat: BTreeMap<String, usize> = BTreeMap::new();
    for l in &added {
        *by_cat.entry(l.category.to_string()).or_default() += 1;
    }
    println!(
        "added {} labels ({} already stored or repeated)",
        added.len(),
        read - added.len()
    );
    // tripoint's own categories one per line; the sources' other words
    // (Etherscan has hundreds) summed into one line.
    let (named, other): (Vec<_>, Vec<_>) = by_cat.into_iter().partition(|(c, _)| {
        !matches!(
            c.parse::<Category>().expect("infallible"),
            Category::Other(_)
        ) || c == "token"
    });
    for (cat, n) in &named {
        println!("  {cat:<16} {n}");
    }
    if !other.is_empty() {
        let total: usize = other.iter().map(|(_, n)| n).sum();
        println!(
            "  {:<16} {total} (in {} source categories)",
            "other",
            other.len()
        );
    }
    if !imported.actors.is_empty() {
        println!("added {} actors", imported.actors.len());
    }
    Ok(())
}

fn show(args: ShowArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.store)
        .with_context(|| format!("opening store {}", args.store.display()))?;
    let addr =
        Address::parse(&args.address).with_context(|| format!("address '{}'", args.address))?;
    let labels = store.labels_of(&addr);
    let text = match args.format {
        OutFormat::Json => serde_json::to_string_pretty(&labels)? + "\n",
        OutFormat::Table => {
            use std::fmt::Write as _;
            let mut t = String::new();
            if labels.is_empty() {
                let _ = writeln!(t, "{addr}: no labels in {}", args.store.display());
            }
            for l in &labels {
                let a = &l.attribution;
                let _ = writeln!(t, "{addr}");
                let _ = writeln!(t, "  label          {}", l.label);
                let _ = writeln!(t, "  category       {}", l.category);
                let actor = a.actor.as_deref().map(|id| match store.actor(id) {
                    Some(act) => format!("{id} ({})", act.label),
                    None => id.to_string(),
                });
                let _ = writeln!(t, "  actor          {}", actor.as_deref().unwrap_or("-"));
                let _ = writeln!(
                    t,
                    "  jurisdictions  {}",
                    if a.jurisdictions.is_empty() {
                        "-".to_string()
                    } else {
                        a.jurisdictions.join(", ")
                    }
                );
                let _ = writeln!(t, "  source         {}", l.source);
                let _ = writeln!(
                    t,
                    "  confidence     {}",
                    a.confidence.as_deref().unwrap_or("-")
                );
                let _ = writeln!(
                    t,
                    "  lastmod        {}",
                    a.lastmod.as_deref().unwrap_or("-")
                );
            }
            t
        }
    };
    print!("{text}");
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
                "{:<44} {:<16} {:<40} {:<14} SOURCE",
                "ADDRESS", "CATEGORY", "LABEL", "ACTOR"
            );
            for l in &out {
                let _ = writeln!(
                    text,
                    "{:<44} {:<16} {:<40} {:<14} {}",
                    l.address.to_string(),
                    l.category.as_str(),
                    l.label,
                    l.attribution.actor.as_deref().unwrap_or("-"),
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
