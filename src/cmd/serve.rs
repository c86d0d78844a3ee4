//! `tripoint serve` (being built; see the open issue).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`tripoint serve` is not available in this build yet")
}
