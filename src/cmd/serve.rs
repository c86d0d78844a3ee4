//! `tripoint serve`: the TAXII 2.1 server (see docs/taxii.md) and, on the
//! same listener, the web console under `/console/` (docs/console.md).

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use tripoint_taxii::config::Config;
use tripoint_taxii::server::{bind, serve, tls_config};
use tripoint_taxii::service::{open_store, Exchange};

#[derive(clap::Args)]
pub struct Args {
    /// Configuration file (TOML; `tripoint intel init` writes one).
    #[arg(long, env = "TRIPOINT_CONFIG", default_value = "tripoint-intel.toml")]
    pub config: PathBuf,
    /// Listen address, overriding `listen` in the configuration (port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Early-warning data folder for the console (`shared/data` or `shared/data/ews`). Default: ../shared/data when present, else the synthetic set.
    #[arg(long, conflicts_with_all = ["ews_db", "ews_synthetic"])]
    pub ews_data: Option<PathBuf>,
    /// Early-warning snapshot (written by `tripoint ews import`) for the console.
    #[arg(long, conflicts_with = "ews_synthetic")]
    pub ews_db: Option<PathBuf>,
    /// Show the synthetic early-warning data set with this seed (labelled as synthetic on every page).
    #[arg(long)]
    pub ews_synthetic: Option<u64>,
    /// Store directory whose cases the case API (/api/cases/) serves and traces over (cases in DIR/cases.sqlite unless --case-db); without it the case API is off.
    #[arg(long)]
    pub case_store: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…) of the case database, as `tripoint case --db`.
    #[arg(long, env = "TRIPOINT_CASE_DB", requires = "case_store")]
    pub case_db: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let base = Config::base_dir(&args.config);
    let tls = match &config.tls {
        Some(t) => Some(tls_config(&base.join(&t.cert), &base.join(&t.key))?),
        None => None,
    };
    let store = open_store(&config, &args.config)
        .with_context(|| format!("opening storage `{}`", config.storage))?;
    let listen = args.listen.clone().unwrap_or_else(|| config.listen.clone());
    let exchange = Exchange::new(store, config, Some(args.config.clone()));
    // One case database for the case API and the console's case pages.
    let case_db = match args.case_store.as_deref() {
        None => None,
        Some(dir) => {
            let db: std::sync::Arc<dyn tripoint_case::CaseDb> =
                tripoint_case::open(dir, args.case_db.as_deref())
                    .context("opening the case database (--case-store/--case-db)")?
                    .into();
            Some((db, dir.to_path_buf()))
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let mut bound = bind(exchange, &listen, tls).await?;
        let console = tripoint_console::Console::new(
            bound.exchange().clone(),
            bound.sessions().clone(),
            bound.is_tls(),
            ews_loader(&args),
            case_db
                .as_ref()
                .map(|(db, dir)| tripoint_console::CaseStore::new(db.clone(), dir.clone())),
        );
        bound.mount_console(tripoint_console::router(console));
        if let Some((db, dir)) = case_db {
            bound.mount_routes(tripoint_case::api::routes(
                tripoint_case::api::CaseApi::new(db, dir),
            ));
        }
        let scheme = if bound.is_tls() { "https" } else { "http" };
        // The first stdout line is the address: scripts and tests that ask
        // for port 0 read the real port from it.
        println!("listening on {scheme}://{}/taxii2/", bound.local_addr()?);
        std::io::stdout().flush().ok();
        serve(bound, shutdown_signal()).await?;
        Ok(())
    })
}

/// How the console loads the early-warning data: as `tripoint ews status`
/// would with the same source, or the labelled synthetic set when no data
/// is at hand.
fn ews_loader(args: &Args) -> tripoint_console::EwsLoader {
    let synthetic = args.ews_synthetic.or_else(|| {
        (args.ews_data.is_none()
            && args.ews_db.is_none()
            && super::util::shared_data_dir().is_none())
        .then_some(1)
    });
    let source = super::ews::Source {
        data: args.ews_data.clone(),
        db: args.ews_db.clone(),
        synthetic,
        config: None,
        reference_dir: std::env::var_os("TRIPOINT_EWS_REFERENCE_DIR").map(PathBuf::from),
        baci_db: std::env::var_os("TRIPOINT_EWS_BACI_DB").map(PathBuf::from),
        triggers: vec![],
        no_triggers: false,
        china_shares: vec![],
        no_china_shares: false,
        producer_measures: vec![],
        no_producer_measures: false,
        home: PathBuf::from(".tripoint/ews"),
    };
    Box::new(move || super::ews::load_source(&source).map_err(|e| format!("{e:#}")))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
