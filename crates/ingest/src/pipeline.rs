//! Parse on one thread, write on the caller's: on two cores the importer's
//! work hides behind the store's.
//!
//! The parser writes into a [`ChannelSink`], which batches records to the
//! writer in order, checkpoints included, so a checkpoint still reaches the
//! writer only after every record before it (the invariant resuming relies
//! on). Resume positions are a snapshot of the writer's cursors taken before
//! the import, kept current with this run's own checkpoints.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, SyncSender};

use tripoint_chain::{SourceCursor, TokenInfo, TransferRecord, TransferSink};

/// Records per message to the writer.
const CHANNEL_BATCH: usize = 8192;
/// Messages in flight: bounds the memory the parser can run ahead by.
const CHANNEL_DEPTH: usize = 32;

/// What the parsing thread hands to the writer, in order.
enum Msg {
    Token(TokenInfo),
    Transfers(Vec<TransferRecord>),
    Checkpoint(SourceCursor),
}

/// The writer stopped (its own error is what [`import_pipelined`] reports).
#[derive(Debug, thiserror::Error)]
#[error("the store writer stopped")]
pub struct WriterStopped;

/// Why a pipelined import failed on the writer's side.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError<W: std::error::Error + 'static> {
    #[error("writing the store")]
    Write(#[source] W),
    #[error("the import thread panicked")]
    ParserPanicked,
}

/// The parser's side of the pipeline.
pub struct ChannelSink {
    tx: SyncSender<Msg>,
    batch: Vec<TransferRecord>,
    cursors: HashMap<String, u64>,
}

impl ChannelSink {
    fn flush(&mut self) -> Result<(), WriterStopped> {
        if !self.batch.is_empty() {
            let b = std::mem::replace(&mut self.batch, Vec::with_capacity(CHANNEL_BATCH));
            self.tx.send(Msg::Transfers(b)).map_err(|_| WriterStopped)?;
        }
        Ok(())
    }
}

impl TransferSink for ChannelSink {
    type Error = WriterStopped;
    fn token(&mut self, token: TokenInfo) -> Result<(), WriterStopped> {
        self.flush()?;
        self.tx.send(Msg::Token(token)).map_err(|_| WriterStopped)
    }
    fn transfer(&mut self, record: TransferRecord) -> Result<(), WriterStopped> {
        self.batch.push(record);
        if self.batch.len() >= CHANNEL_BATCH {
            self.flush()?;
        }
        Ok(())
    }
    fn checkpoint(&mut self, cursor: &SourceCursor) -> Result<(), WriterStopped> {
        self.flush()?;
        self.cursors.insert(cursor.source.clone(), cursor.position);
        self.tx
            .send(Msg::Checkpoint(cursor.clone()))
            .map_err(|_| WriterStopped)
    }
    fn resume_position(&self, source: &str) -> Option<u64> {
        self.cursors.get(source).copied()
    }
}

/// Run `parse` on its own thread into a [`ChannelSink`] and write what it
/// produces into `writer` on this one. `resume_sources` are the cursor names
/// the import will ask for. A writer error is reported before the parser's
/// (which then is only [`WriterStopped`]).
pub fn import_pipelined<W, T, E, F>(
    writer: &mut W,
    resume_sources: &[String],
    parse: F,
) -> Result<T, E>
where
    W: TransferSink,
    F: FnOnce(&mut ChannelSink) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<PipelineError<W::Error>> + Send + 'static,
{
    let cursors = resume_sources
        .iter()
        .filter_map(|s| writer.resume_position(s).map(|p| (s.clone(), p)))
        .collect();
    let (tx, rx) = sync_channel(CHANNEL_DEPTH);
    let mut sink = ChannelSink {
        tx,
        batch: Vec::with_capacity(CHANNEL_BATCH),
        cursors,
    };
    let parser = std::thread::spawn(move || parse(&mut sink));
    let mut written = Ok(());
    for msg in &rx {
        let r = match msg {
            Msg::Token(t) => writer.token(t),
            Msg::Transfers(v) => writer.transfer_batch(&v),
            Msg::Checkpoint(c) => writer.checkpoint(&c),
        };
        if let Err(e) = r {
            written = Err(PipelineError::Write(e));
            break;
        }
    }
    // Stops the parser at its next send if the writer failed.
    drop(rx);
    let parsed = parser.join().map_err(|_| PipelineError::ParserPanicked)?;
    written?;
    parsed
}
