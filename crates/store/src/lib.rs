//! On-disk, memory-mapped, columnar transfer-graph store with immutable
//! segments, an atomic manifest and labels with provenance.
//!
//! A store directory holds a `MANIFEST` (JSON) naming the live files: segment
//! files (`seg-*.tps`, transfers in chain order with adjacency), address
//! dictionary chunks (`dict-*.tpd`) and label files (`labels-*.jsonl`). Data
//! files are immutable; every change writes new files and then replaces the
//! manifest atomically, so readers and crashes only ever see a published state.
//! See `docs/store.md` for the format.
//!
//! Also [`TempFileSpills`]: the unnamed temporary files a trace's sweep
//! spills its flows to past a size (the trace engine does no I/O itself).

mod appender;
mod dict;
mod format;
pub mod labels;
mod manifest;
mod owned;
mod segment;
pub mod spill;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use thiserror::Error;
use tripoint_chain::{
    Actor, AddrId, Address, Amount, Asset, AssetId, Chain, Label, OutPoint, Position, TokenInfo,
    TransferBatch, TransferGraph, TransferId, TransferRecord, TransferRow, TxHash,
};

pub use appender::{AppendSummary, Appender};
pub use format::FORMAT_VERSION;
pub use labels::LABEL_FILE_VERSION;
pub use spill::{SpillFile, TempFileSpills};

use dict::DictChunk;
use manifest::{LabelFileMeta, Manifest, MANIFEST};
use segment::Segment;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a tripoint store (no MANIFEST)")]
    NoManifest(PathBuf),
    #[error("{path}: bad manifest: {msg}")]
    BadManifest { path: PathBuf, msg: String },
    #[error(
        "{path}: format version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: corrupt store file: {msg}")]
    Corrupt { path: PathBuf, msg: String },
    #[error("{0}: another writer holds the store lock")]
    Locked(PathBuf),
    #[error("store holds {store:?} data; cannot add a {record:?} record")]
    MixedChains { store: Chain, record: Chain },
    #[error("address dictionary is full ({0} addresses)")]
    TooManyAddresses(u64),
    #[error("an earlier checkpoint of this appender failed; reopen the store and append again")]
    Poisoned,
    #[error("the {0} writer thread panicked")]
    WriterPanicked(&'static str),
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Figures about a store, for `tripoint` reports and benchmarks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoreStats {
    pub transfers: u64,
    pub addresses: u64,
    /// Native coin included.
    pub assets: u64,
    pub segments: u64,
    pub labels: u64,
    /// Every live file plus the manifest.
    pub bytes_on_disk: u64,
    /// Segment bytes per transfer (address dictionary and labels excluded).
    pub bytes_per_transfer: f64,
    /// As `bytes_per_transfer`, also without the tx-hash table (32-byte hashes + hash index).
    pub bytes_per_transfer_without_tx_hashes: f64,
    pub dictionary_bytes: u64,
    /// Cumulative over every append.
    pub duplicates_skipped: u64,
}

impl StoreStats {
    /// One line for people, digits grouped: transfers, addresses, assets,
    /// segments and bytes per transfer.
    pub fn summary_line(&self) -> String {
        let n = |v: u64| tripoint_chain::group_digits(&v.to_string());
        format!(
            "{} transfers, {} addresses, {} assets, {} segments, {:.1} bytes/transfer",
            n(self.transfers),
            n(self.addresses),
            n(self.assets),
            n(self.segments),
            self.bytes_per_transfer
        )
    }
}

#[derive(Default)]
struct LabelIndex {
    /// Labels with jurisdictions filled in from their actor where the label
    /// itself names none.
    by_address: HashMap<Address, Vec<Label>>,
    actors: HashMap<String, Actor>,
    count: u64,
}

impl LabelIndex {
    /// One bit per address id: labelled and present in the dictionary (one
    /// lookup per labelled address), so walks can skip `labels()` for every
    /// other address.
    fn bitmap(&self, store: &Store) -> Vec<u64> {
        let mut bits = vec![0u64; store.address_count().div_ceil(64)];
        for a in self.by_address.keys() {
            if let Some(id) = store.lookup(a) {
                bits[id as usize / 64] |= 1 << (id % 64);
            }
        }
        bits
    }
}

struct LabelState {
    files: Vec<LabelFileMeta>,
    index: Option<Arc<LabelIndex>>,
}

/// An opened store directory: a read-only snapshot of the manifest it was
/// opened with. Segments and dictionaries are memory-mapped, nothing is parsed
/// up front (labels load on first use).
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    segments: Vec<Segment>,
    /// `bases[i]` is the first transfer id of segment `i`; last entry = total.
    bases: Vec<u64>,
    dicts: Vec<DictChunk>,
    address_count: u64,
    labels: RwLock<LabelState>,
    /// `LabelIndex::bitmap` of the labels as opened, built on first use; a
    /// plain load per `may_have_labels` call (walks ask once per reached
    /// address). Invalid once labels are imported through this `Store`.
    labelled: std::sync::OnceLock<Vec<u64>>,
    labels_imported: std::sync::atomic::AtomicBool,
}

const LOCK_FILE: &str = "LOCK";

impl Store {
    /// Open an existing store; error if `dir` has no manifest.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        // A writer may publish and delete merged-away files between our reading
        // the manifest and mapping them; then the newer manifest names files
        // that exist, so retry: at once a few times, then (a busy writer can
        // merge several times in a row on a loaded machine) with growing
        // pauses for up to 3 s before the missing file is an error.
        const AT_ONCE: u32 = 5;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut attempt = 0;
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            let manifest =
                Manifest::read(dir)?.ok_or_else(|| StoreError::NoManifest(dir.to_path_buf()))?;
            match Store::from_manifest(dir, manifest) {
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && (attempt < AT_ONCE || std::time::Instant::now() + pause < deadline) =>
                {
                    if attempt >= AT_ONCE {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(std::time::Duration::from_millis(200));
                    }
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Open a store, creating an empty one (directory and manifest) if needed.
    pub fn open_or_create(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        if Manifest::read(dir)?.is_none() {
            let lock = lock_dir(dir)?;
            if Manifest::read(dir)?.is_none() {
                Manifest::empty().publish(dir)?;
            }
            drop(lock);
        }
        Store::open(dir)
    }

    fn from_manifest(dir: &Path, manifest: Manifest) -> Result<Store, StoreError> {
        let mut segments = Vec::with_capacity(manifest.segments.len());
        let mut bases = vec![0u64];
        for meta in &manifest.segments {
            let seg = Segment::open(&dir.join(&meta.file))?;
            if seg.rows as u64 != meta.rows {
                return Err(StoreError::Corrupt {
                    path: dir.join(&meta.file),
                    msg: format!("{} rows, manifest says {}", seg.rows, meta.rows),
                });
            }
            bases.push(bases.last().copied().unwrap_or(0) + seg.rows as u64);
            segments.push(seg);
        }
        let mut dicts = Vec::with_capacity(manifest.dicts.len());
        let mut next = 0u64;
        for meta in &manifest.dicts {
            let d = DictChunk::open(&dir.join(&meta.file))?;
            if d.base as u64 != next || d.count != meta.count {
                return Err(StoreError::Corrupt {
                    path: dir.join(&meta.file),
                    msg: "dictionary chunk does not continue the id range".into(),
                });
            }
            next += d.count as u64;
            dicts.push(d);
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            labelled: std::sync::OnceLock::new(),
            labels_imported: std::sync::atomic::AtomicBool::new(false),
            labels: RwLock::new(LabelState {
                files: manifest.labels.clone(),
                index: None,
            }),
            manifest,
            segments,
            bases,
            dicts,
            address_count: next,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The chain of the stored transfers (`None` while the store is empty).
    pub fn chain(&self) -> Option<Chain> {
        self.manifest.chain
    }

    /// Start appending. Takes the store's exclusive writer lock (released when
    /// the appender is dropped); fails if another writer holds it.
    pub fn appender(&self) -> Result<Appender, StoreError> {
        Appender::new(&self.dir)
    }

    pub fn stats(&self) -> StoreStats {
        let seg_bytes: u64 = self.segments.iter().map(|s| s.bytes()).sum();
        let hash_bytes: u64 = self.segments.iter().map(|s| s.tx_hash_bytes()).sum();
        let dict_bytes: u64 = self.dicts.iter().map(|d| d.bytes()).sum();
        let labels = self.labels.read().expect("labels lock");
        let label_bytes: u64 = labels.files.iter().map(|l| l.bytes).sum();
        let label_count: u64 = labels.files.iter().map(|l| l.count).sum();
        let manifest_bytes = std::fs::metadata(self.dir.join(MANIFEST))
            .map(|m| m.len())
            .unwrap_or(0);
        let transfers = self.transfer_count();
        let per = |b: u64| {
            if transfers == 0 {
                0.0
            } else {
                b as f64 / transfers as f64
            }
        };
        StoreStats {
            transfers,
            addresses: self.address_count,
            assets: self.manifest.tokens.len() as u64 + 1,
            segments: self.segments.len() as u64,
            labels: label_count,
            bytes_on_disk: seg_bytes + dict_bytes + label_bytes + manifest_bytes,
            bytes_per_transfer: per(seg_bytes),
            bytes_per_transfer_without_tx_hashes: per(seg_bytes - hash_bytes),
            dictionary_bytes: dict_bytes,
            duplicates_skipped: self.manifest.duplicates_skipped,
        }
    }

    /// The last checkpointed position of an importer's source.
    pub fn resume_position(&self, source: &str) -> Option<u64> {
        self.manifest.cursors.get(source).copied()
    }

    /// Add labels atomically (one new labels file + manifest swap). Labels
    /// identical to stored ones (or repeated in the input) are skipped; returns
    /// how many were added. Takes the writer lock for the duration.
    pub fn import_labels(
        &self,
        labels: impl IntoIterator<Item = Label>,
    ) -> Result<usize, StoreError> {
        self.import_labels_added(labels).map(|added| added.len())
    }

    /// As [`Store::import_labels`], returning the labels that were new.
    pub fn import_labels_added(
        &self,
        labels: impl IntoIterator<Item = Label>,
    ) -> Result<Vec<Label>, StoreError> {
        self.import_attribution(labels, Vec::new())
            .map(|i| i.labels)
    }

    /// Add labels and actors atomically (one new labels file + manifest
    /// swap). Labels identical to stored ones and actors whose id is stored
    /// with the same fields are skipped (re-import is idempotent); returns
    /// what was new. Takes the writer lock for the duration.
    pub fn import_attribution(
        &self,
        labels: impl IntoIterator<Item = Label>,
        actors: impl IntoIterator<Item = Actor>,
    ) -> Result<Imported, StoreError> {
        let lock = lock_dir(&self.dir)?;
        // The snapshot may be stale: decide against what is on disk now.
        let mut manifest =
            Manifest::read(&self.dir)?.ok_or_else(|| StoreError::NoManifest(self.dir.clone()))?;
        remove_orphans(&self.dir, &manifest)?;
        let existing = labels::read_label_files(&self.dir, &manifest.labels)?;
        let mut seen: HashSet<Label> = existing.labels.iter().cloned().collect();
        let fresh: Vec<Label> = labels
            .into_iter()
            .filter(|l| seen.insert(l.clone()))
            .collect();
        let mut seen_actors: HashSet<Actor> = existing.actors.iter().cloned().collect();
        let fresh_actors: Vec<Actor> = actors
            .into_iter()
            .filter(|a| seen_actors.insert(a.clone()))
            .collect();
        if !fresh.is_empty() || !fresh_actors.is_empty() {
            manifest.generation += 1;
            let file = format!("labels-{:08}.jsonl", manifest.generation);
            let bytes = labels::write_label_file(&self.dir.join(&file), &fresh, &fresh_actors)?;
            manifest.labels.push(LabelFileMeta {
                file,
                count: fresh.len() as u64,
                bytes,
            });
            manifest.publish(&self.dir)?;
        }
        drop(lock);
        let mut state = self.labels.write().expect("labels lock");
        state.files = manifest.labels.clone();
        state.index = Some(Arc::new(index_labels(labels::Stored {
            labels: existing
                .labels
                .into_iter()
                .chain(fresh.iter().cloned())
                .collect(),
            actors: existing
                .actors
                .into_iter()
                .chain(fresh_actors.iter().cloned())
                .collect(),
        })));
        self.labels_imported
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(Imported {
            labels: fresh,
            actors: fresh_actors,
        })
    }

    /// A stored actor by id (the last imported version of it).
    pub fn actor(&self, id: &str) -> Option<Actor> {
        self.label_index().actors.get(id).cloned()
    }

    fn label_index(&self) -> Arc<LabelIndex> {
        if let Some(ix) = &self.labels.read().expect("labels lock").index {
            return ix.clone();
        }
        let mut state = self.labels.write().expect("labels lock");
        if state.index.is_none() {
            // A label file that cannot be read leaves the index empty; the
            // error surfaces through `all_labels`, which the CLI uses.
            let stored = labels::read_label_files(&self.dir, &state.files).unwrap_or_default();
            state.index = Some(Arc::new(index_labels(stored)));
        }
        state.index.clone().expect("just set")
    }

    /// Labels on `addr`, in import order.
    pub fn labels_of(&self, addr: &Address) -> Vec<Label> {
        self.label_index()
            .by_address
            .get(addr)
            .cloned()
            .unwrap_or_default()
    }

    /// Every stored label, in import order, jurisdictions filled in from
    /// actors as [`Store::labels_of`] does (errors if a label file is unreadable).
    pub fn all_labels(&self) -> Result<Vec<Label>, StoreError> {
        let files = self.labels.read().expect("labels lock").files.clone();
        let stored = labels::read_label_files(&self.dir, &files)?;
        let actors = actor_map(stored.actors);
        Ok(stored
            .labels
            .into_iter()
            .map(|l| resolve(l, &actors))
            .collect())
    }

    fn locate(&self, id: TransferId) -> (&Segment, u32) {
        let s = self.bases.partition_point(|&b| b <= id) - 1;
        (&self.segments[s], (id - self.bases[s]) as u32)
    }

    /// The full record behind a transfer id, as it was appended.
    pub fn record(&self, id: TransferId) -> TransferRecord {
        let (seg, local) = self.locate(id);
        let row = seg.row(local);
        let chain = self.manifest.chain.unwrap_or(Chain::Ethereum);
        let position = match (chain, Position::output_of(row.sub_index)) {
            (Chain::Ethereum, _) if row.sub_index == 0 => Position::NativeValue,
            (Chain::Ethereum, _) => Position::Log(row.sub_index - 1),
            (Chain::Bitcoin, Some(output)) => Position::Output(output),
            (Chain::Bitcoin, None) => Position::Input {
                index: row.sub_index,
                spends: seg.spend(local).unwrap_or(OutPoint {
                    tx: TxHash::default(),
                    index: 0,
                }),
            },
        };
        TransferRecord {
            chain,
            block: row.block,
            timestamp: row.timestamp,
            tx_hash: seg.tx_hash(local),
            tx_index: row.tx_index,
            position,
            from: self.address(row.src),
            to: self.address(row.dst),
            asset: self.asset(row.asset),
            amount: row.amount,
        }
    }

    /// The asset behind an asset id.
    pub fn asset(&self, id: AssetId) -> Asset {
        match id {
            0 => Asset::Native(self.manifest.chain.unwrap_or(Chain::Ethereum)),
            _ => Asset::Token(self.manifest.tokens[id as usize - 1].address.clone()),
        }
    }

    /// The id of the transfer stored under a dedup key, if any.
    pub fn find(&self, tx: &TxHash, sub_index: u32) -> Option<TransferId> {
        self.segments
            .iter()
            .zip(&self.bases)
            .find_map(|(s, &b)| s.find(&tx.0, sub_index).map(|l| b + l as u64))
    }
}

fn index_labels(stored: labels::Stored) -> LabelIndex {
    let mut ix = LabelIndex {
        actors: actor_map(stored.actors),
        ..LabelIndex::default()
    };
    for l in stored.labels {
        ix.count += 1;
        let l = resolve(l, &ix.actors);
        ix.by_address.entry(l.address.clone()).or_default().push(l);
    }
    ix
}

/// Actors by id; a later import of the same id wins.
fn actor_map(actors: Vec<Actor>) -> HashMap<String, Actor> {
    actors.into_iter().map(|a| (a.id.clone(), a)).collect()
}

/// A label whose own source names no jurisdiction takes its actor's.
fn resolve(mut l: Label, actors: &HashMap<String, Actor>) -> Label {
    if l.attribution.jurisdictions.is_empty() {
        if let Some(a) = l.attribution.actor.as_ref().and_then(|id| actors.get(id)) {
            l.attribution.jurisdictions = a.jurisdictions.clone();
        }
    }
    l
}

/// What [`Store::import_attribution`] added.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub labels: Vec<Label>,
    pub actors: Vec<Actor>,
}

/// Take the directory's writer lock (advisory `flock`, released on drop or
/// process death, so a crash never leaves a stale lock).
pub(crate) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
    }
}

/// Delete data files no manifest references: leftovers of an append or label
/// import that crashed before publishing. Caller holds the lock.
pub(crate) fn remove_orphans(dir: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let live: HashSet<&str> = manifest.live_files().into_iter().collect();
    let entries = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name.starts_with("seg-")
            || name.starts_with("dict-")
            || name.starts_with("labels-")
            || name == "MANIFEST.tmp";
        if ours && !live.contains(name) {
            let p = entry.path();
            std::fs::remove_file(&p).map_err(|e| StoreError::io(&p, e))?;
        }
    }
    Ok(())
}

impl TransferGraph for Store {
    fn address_count(&self) -> usize {
        self.address_count as usize
    }

    fn transfer_count(&self) -> u64 {
        *self.bases.last().expect("bases has a final entry")
    }

    fn transfer(&self, id: TransferId) -> TransferRow {
        let (seg, local) = self.locate(id);
        seg.row(local)
    }

    fn may_share_tx(&self, id: TransferId) -> bool {
        let (seg, local) = self.locate(id);
        seg.may_share_tx(local)
    }

    fn read_batch(&self, start: TransferId, max: usize, batch: &mut TransferBatch) -> usize {
        batch.clear();
        batch.first = start;
        if start >= self.transfer_count() || max == 0 {
            return 0;
        }
        // One segment per call keeps this a plain slice copy.
        let (seg, local) = self.locate(start);
        let hi = (local as u64 + max as u64).min(seg.rows as u64) as u32;
        seg.read_rows(local, hi, batch);
        batch.len()
    }

    fn read_batch_at_least(
        &self,
        start: TransferId,
        max: usize,
        min: Amount,
        timestamps: bool,
        batch: &mut TransferBatch,
        at_least: &mut Vec<u64>,
    ) -> usize {
        batch.clear();
        batch.first = start;
        at_least.clear();
        if start >= self.transfer_count() || max == 0 {
            return 0;
        }
        let (seg, local) = self.locate(start);
        let hi = (local as u64 + max as u64).min(seg.rows as u64) as u32;
        seg.read_rows_at_least(local, hi, min, timestamps, batch, at_least);
        batch.len()
    }

    fn outgoing(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.segments
            .iter()
            .zip(&self.bases)
            .flat_map(move |(s, &b)| s.outgoing(addr).iter().map(move |&l| b + l as u64))
    }

    fn incoming(&self, addr: AddrId) -> impl Iterator<Item = TransferId> + '_ {
        self.segments
            .iter()
            .zip(&self.bases)
            .flat_map(move |(s, &b)| s.incoming(addr).iter().map(move |&l| b + l as u64))
    }

    fn address(&self, id: AddrId) -> Address {
        let c = self.dicts.partition_point(|d| d.base <= id) - 1;
        let d = &self.dicts[c];
        d.address(id - d.base)
    }

    fn lookup(&self, addr: &Address) -> Option<AddrId> {
        let key = addr.as_key_bytes();
        self.dicts.iter().find_map(|d| d.lookup(&key))
    }

    fn tx_hash(&self, id: TransferId) -> TxHash {
        let (seg, local) = self.locate(id);
        seg.tx_hash(local)
    }

    fn asset_count(&self) -> usize {
        self.manifest.tokens.len() + 1
    }

    fn token(&self, asset: AssetId) -> Option<TokenInfo> {
        let entry = self.manifest.tokens.get((asset as usize).checked_sub(1)?)?;
        Some(entry.info.clone().unwrap_or_else(|| TokenInfo {
            address: entry.address.clone(),
            symbol: String::new(),
            name: String::new(),
            decimals: None,
        }))
    }

    fn labels(&self, addr: AddrId) -> Vec<Label> {
        self.labels_of(&self.address(addr))
    }

    fn may_have_labels(&self, addr: AddrId) -> bool {
        use std::sync::atomic::Ordering;
        if self.labels_imported.load(Ordering::Acquire) {
            // Rare (an import through this very snapshot): ask the index.
            return !self.labels_of(&self.address(addr)).is_empty();
        }
        let bits = self
            .labelled
            .get_or_init(|| self.label_index().bitmap(self));
        bits.get(addr as usize / 64)
            .is_some_and(|w| w & (1 << (addr % 64)) != 0)
    }

    fn labelled_bits(&self) -> Option<&[u64]> {
        use std::sync::atomic::Ordering;
        // After an import through this snapshot only the index knows.
        if self.labels_imported.load(Ordering::Acquire) {
            return None;
        }
        Some(
            self.labelled
                .get_or_init(|| self.label_index().bitmap(self)),
        )
    }

    #[inline]
    fn is_tx_node(&self, addr: AddrId) -> bool {
        // Only Bitcoin stores hold transaction nodes.
        self.manifest.chain == Some(Chain::Bitcoin) && matches!(self.address(addr), Address::Tx(_))
    }

    fn spent_output(&self, input: TransferId) -> Option<TransferId> {
        let (seg, local) = self.locate(input);
        let op = seg.spend(local)?;
        self.find(&op.tx, Position::Output(op.index).sub_index())
    }
}
