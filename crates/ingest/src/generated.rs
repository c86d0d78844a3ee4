//! A generated scenario as an import source: `tripoint-gen`'s rows go
//! straight into any [`TransferSink`] writer through the same pipeline as the
//! file importers (generation on one thread, the writer on the caller's), so
//! a store of 5×10^8 generated transfers needs no CSV on disk in between.
//! The records are exactly those an ethereum-etl import of the written files
//! gives (`tests/generated.rs` checks that).

use tripoint_chain::{Label, SourceCursor, TokenInfo, TransferRecord, TransferSink};
use tripoint_gen::{GenConfig, GenError, GenSummary, RecordSink};

use crate::pipeline::{import_pipelined, PipelineError};

/// What [`import_generated`] produced besides the records it wrote.
#[derive(Debug)]
pub struct GeneratedImport {
    pub summary: GenSummary,
    /// The scenario's labels (exchanges, bridges, mixers, the thief): the
    /// sink trait has no place for them, so the caller stores them.
    pub labels: Vec<Label>,
}

/// Why generating into a writer failed.
#[derive(Debug, thiserror::Error)]
pub enum GeneratedImportError<W: std::error::Error + Send + 'static> {
    #[error("generating the scenario")]
    Generate(#[from] GenError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError<W>),
}

/// The cursor name of a scenario: the same knobs give the same records.
fn generated_source(cfg: &GenConfig) -> String {
    format!(
        "gen:seed={},transfers={},contract_share={}",
        cfg.seed, cfg.transfers, cfg.contract_share
    )
}

/// Generate the scenario `cfg` into `writer`, checkpointing every
/// `checkpoint_every` records so the writer's buffer stays bounded and a
/// stopped run keeps what it checkpointed (a rerun regenerates the rest; the
/// store skips the records it already has). `progress` hears the rows
/// generated so far (from the generating thread).
pub fn import_generated<W>(
    cfg: &GenConfig,
    writer: &mut W,
    checkpoint_every: u64,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<GeneratedImport, GeneratedImportError<W::Error>>
where
    W: TransferSink,
    W::Error: Send + 'static,
{
    let cfg = cfg.clone();
    import_pipelined(writer, &[], move |sink| {
        let mut checkpointing = Checkpointing {
            inner: sink,
            source: generated_source(&cfg),
            every: checkpoint_every.max(1),
            records: 0,
        };
        let mut records = RecordSink::new(&mut checkpointing);
        let summary = tripoint_gen::generate_with_progress(&cfg, &mut records, &mut progress)?;
        let labels = records.labels;
        // The cursor at the end says the scenario is complete.
        let end = SourceCursor {
            source: checkpointing.source.clone(),
            position: checkpointing.records,
        };
        checkpointing
            .inner
            .checkpoint(&end)
            .map_err(|e| GenError::Sink(Box::new(e)))?;
        Ok(GeneratedImport { summary, labels })
    })
}

/// Passes records on and checkpoints every `every` of them.
struct Checkpointing<'a, S: TransferSink> {
    inner: &'a mut S,
    source: String,
    every: u64,
    records: u64,
}

impl<S: TransferSink> TransferSink for Checkpointing<'_, S> {
    type Error = S::Error;
    fn token(&mut self, token: TokenInfo) -> Result<(), S::Error> {
        self.inner.token(token)
    }
    fn transfer(&mut self, record: TransferRecord) -> Result<(), S::Error> {
        self.inner.transfer(record)?;
        self.records += 1;
        if self.records.is_multiple_of(self.every) {
            self.inner.checkpoint(&SourceCursor {
                source: self.source.clone(),
                position: self.records,
            })?;
        }
        Ok(())
    }
    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), S::Error> {
        self.inner.checkpoint(cursor)
    }
    fn resume_position(&self, source: &str) -> Option<u64> {
        self.inner.resume_position(source)
    }
}
