//! `tripoint case`: saved investigations (create, list, show, note, close),
//! the freezes made, and their reports as JSON, a table or a STIX 2.1 bundle.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use tripoint_case::{Case, CaseDb, NewCase};
use tripoint_store::Store;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Where the cases are: the store directory, and optionally PostgreSQL.
#[derive(clap::Args)]
struct Db {
    /// Store directory (cases live in DIR/cases.sqlite unless --db is given).
    #[arg(long)]
    store: PathBuf,
    /// PostgreSQL URL (postgres://…) to keep cases in instead of the embedded SQLite file.
    #[arg(long, env = "TRIPOINT_CASE_DB")]
    db: Option<String>,
}

impl Db {
    fn open(&self) -> anyhow::Result<Box<dyn CaseDb>> {
        Ok(tripoint_case::open(&self.store, self.db.as_deref())?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Open a case: seeds, start time, policy, TLP and owning partner; prints it with its id.
    New(NewArgs),
    /// List cases.
    List(ListArgs),
    /// Show one case with its notes.
    Show(IdArgs),
    /// Add a note to an open case.
    Note(NoteArgs),
    /// Close a case.
    Close(IdArgs),
    /// Trace the case over the store and report: JSON, a table, or a STIX 2.1 bundle.
    Report(ReportArgs),
    /// Record a freeze a service made at a partner's request (amount in base units).
    Freeze(FreezeArgs),
}

#[derive(clap::Args)]
struct NewArgs {
    #[command(flatten)]
    db: Db,
    /// Case name.
    #[arg(long)]
    name: String,
    /// Seed address(es), comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    seed: Vec<String>,
    /// Start time: unix seconds, YYYY-MM-DD or RFC 3339 (UTC).
    #[arg(long)]
    from: Option<String>,
    /// Taint policy: poison, haircut, fifo, lifo or tiho.
    #[arg(long, default_value = "haircut")]
    policy: String,
    /// Maximum hop distance from a seed.
    #[arg(long, default_value_t = 64)]
    max_hops: u32,
    /// Live watch: a new address raises a new_hop alert only once it received this many
    /// millionths of the taint the seeds paid out (default: the watch's --min-hop-ppm).
    #[arg(long)]
    min_hop_ppm: Option<u32>,
    /// TLP marking: clear, white, green, amber, amber+strict or red.
    #[arg(long, default_value = "amber")]
    tlp: String,
    /// Code of the partner that owns the case (us, jp, kr).
    #[arg(long, default_value = "us")]
    partner: String,
    /// Print the case as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ListArgs {
    #[command(flatten)]
    db: Db,
    /// Only cases with this status.
    #[arg(long, value_enum, default_value = "all")]
    status: StatusArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Open,
    Closed,
    All,
}

#[derive(clap::Args)]
struct IdArgs {
    #[command(flatten)]
    db: Db,
    /// Case id (as `case new` printed it).
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct NoteArgs {
    #[command(flatten)]
    db: Db,
    /// Case id.
    id: String,
    /// The note.
    #[arg(long)]
    text: String,
    /// Who writes it.
    #[arg(long, env = "USER", default_value = "analyst")]
    author: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ReportArgs {
    #[command(flatten)]
    db: Db,
    /// Case id.
    id: String,
    /// Output: json, table, or stix (a STIX 2.1 bundle to post into the exchange).
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Also post the report's STIX bundle into the partners' exchange as the case's partner:
    /// CONFIG is the exchange's configuration file (as `intel --config`), COLLECTION a
    /// collection id or alias.
    #[arg(long, value_name = "CONFIG:COLLECTION")]
    publish: Option<String>,
}

#[derive(clap::Args)]
struct FreezeArgs {
    #[command(flatten)]
    db: Db,
    /// Case id.
    id: String,
    /// Address where the funds were frozen (the service's deposit or hot wallet, or any address a
    /// token issuer froze).
    #[arg(long)]
    address: String,
    /// Asset frozen: ETH or BTC, a token contract address, or the symbol of one token in the store.
    #[arg(long)]
    asset: String,
    /// Amount frozen in base units (wei, satoshi, the token's smallest unit), e.g. 1 ETH =
    /// 1000000000000000000.
    #[arg(long)]
    amount: String,
    /// Partner government that asked for the freeze: US, JP or KR.
    #[arg(long)]
    partner: Option<String>,
    /// The service's or the partner's reference for the freeze (a ticket or letter number).
    #[arg(long)]
    reference: Option<String>,
    /// When the funds were frozen: unix seconds, YYYY-MM-DD or RFC 3339 (UTC); default now.
    #[arg(long)]
    time: Option<String>,
    /// Name of the service that froze them (default: the store's label of the address).
    #[arg(long)]
    label: Option<String>,
    /// A free-text note kept with the freeze.
    #[arg(long)]
    note: Option<String>,
    /// Who records it.
    #[arg(long, env = "USER", default_value = "analyst")]
    recorded_by: String,
    /// Print the freeze as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Json,
    Table,
    Stix,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let text = match args.command {
        Command::New(a) => {
            let case = NewCase {
                name: a.name,
                seeds: a.seed,
                from: a.from,
                policy: a.policy,
                max_hops: a.max_hops,
                min_hop_ppm: a.min_hop_ppm,
                tlp: a.tlp,
                partner: a.partner,
            }
            .validate()?;
            a.db.open()?.create(&case)?;
            render(&case, a.json)
        }
        Command::List(a) => {
            let mut cases = a.db.open()?.list()?;
            cases.retain(|c| match a.status {
                StatusArg::All => true,
                StatusArg::Open => c.status == tripoint_case::Status::Open,
                StatusArg::Closed => c.status == tripoint_case::Status::Closed,
            });
            if a.json {
                serde_json::to_string_pretty(&cases)? + "\n"
            } else {
                let mut t = format!(
                    "{:<37} {:<7} {:<8} {:<5} {:<24} NAME\n",
                    "ID", "STATUS", "POLICY", "TLP", "CREATED"
                );
                for c in &cases {
                    t.push_str(&format!(
                        "{:<37} {:<7} {:<8} {:<5} {:<24} {}\n",
                        c.id,
                        c.status.as_str(),
                        c.policy,
                        c.tlp,
                        c.created,
                        c.name
                    ));
                }
                t
            }
        }
        Command::Show(a) => render(&a.db.open()?.get(&a.id)?, a.json),
        Command::Note(a) => render(&a.db.open()?.note(&a.id, &a.author, &a.text)?, a.json),
        Command::Close(a) => render(&a.db.open()?.close(&a.id)?, a.json),
        Command::Report(a) => {
            let db = a.db.open()?;
            let case = db.get(&a.id)?;
            let store = Store::open(&a.db.store)
                .with_context(|| format!("opening store {}", a.db.store.display()))?;
            let freezes = db.freezes(&case.id)?;
            let report = tripoint_case::build_case_report(&store, &case)?.with_freezes(freezes);
            if let Some(target) = &a.publish {
                let (config, collection) = tripoint_case::publish::parse_target(target)?;
                let publisher = tripoint_case::publish::Publisher::open(&config, &collection)?;
                let posted = publisher.post_report(&report)?;
                eprintln!(
                    "published case {} to {target}: {} objects stored, {} already there",
                    case.id, posted.stored, posted.duplicates
                );
            }
            match a.format {
                ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
                ReportFormat::Table => tripoint_case::report::table(&report),
                ReportFormat::Stix => {
                    serde_json::to_string_pretty(&tripoint_case::stix::bundle(&report)?)? + "\n"
                }
            }
        }
        Command::Freeze(a) => {
            let db = a.db.open()?;
            let case = db.get(&a.id)?;
            // The store names the service and resolves token symbols; a case
            // whose store holds no transfers yet records without them.
            let store = if a.db.store.join("MANIFEST").exists() {
                Some(
                    Store::open(&a.db.store)
                        .with_context(|| format!("opening store {}", a.db.store.display()))?,
                )
            } else {
                None
            };
            let freeze = tripoint_case::NewFreeze {
                case_id: case.id,
                address: a.address,
                label: a.label,
                asset: a.asset,
                amount: a.amount,
                partner: a.partner,
                reference: a.reference,
                time: a.time,
                recorded_by: a.recorded_by,
                note: a.note,
            }
            .validate(store.as_ref())?;
            db.add_freeze(&freeze)?;
            if a.json {
                serde_json::to_string_pretty(&freeze)? + "\n"
            } else {
                format!(
                    "recorded {}: {} {} (base units) frozen at {}{} on {}{}{}\n",
                    freeze.id,
                    freeze.amount,
                    freeze.asset,
                    freeze.address,
                    freeze
                        .label
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default(),
                    freeze.time,
                    freeze
                        .partner
                        .as_deref()
                        .map(|p| format!(", asked by {p}"))
                        .unwrap_or_default(),
                    freeze
                        .reference
                        .as_deref()
                        .map(|r| format!(", reference {r}"))
                        .unwrap_or_default(),
                )
            }
        }
    };
    print!("{text}");
    Ok(())
}

fn render(c: &Case, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(c).expect("case serializes") + "\n";
    }
    let mut t = format!(
        "id       {}\nname     {}\nstatus   {}\nseeds    {}\nfrom     {}\npolicy   {} (max hops {}; new_hop alerts from {})\nTLP      {}\npartner  {}\ncreated  {}\n",
        c.id,
        c.name,
        c.status.as_str(),
        c.seeds.join(", "),
        c.from.map(tripoint_case::rfc3339).unwrap_or_else(|| "-".into()),
        c.policy,
        c.max_hops,
        c.min_hop_ppm
            .map_or("the watch's --min-hop-ppm".to_string(), |p| format!("{p} ppm")),
        c.tlp,
        c.partner,
        c.created
    );
    if let Some(cl) = &c.closed {
        t.push_str(&format!("closed   {cl}\n"));
    }
    for n in &c.notes {
        t.push_str(&format!("note     {}  {}: {}\n", n.time, n.author, n.text));
    }
    t
}
