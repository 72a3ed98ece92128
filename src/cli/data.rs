//! `ablate data`: write the synthetic face dataset, check a dataset on disk.

use super::GlobalArgs;
use ablate::data::synth::{self, SynthConfig};
use ablate::data::{Dataset, DatasetSpec, Format, Split};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Write a synthetic face dataset in CelebA layout with part masks.
    Synth(SynthArgs),
    /// Open a dataset as training would, validating every file, and print
    /// its size per split.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Output directory (must not already hold a dataset).
    #[arg(long)]
    out: PathBuf,
    /// Number of faces [default: 2000].
    #[arg(long)]
    count: Option<u32>,
    /// Image side in pixels [default: 64].
    #[arg(long)]
    size: Option<u32>,
    /// Random seed: the same seed writes the same dataset [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// TOML file with a generator configuration (difficulty knobs; see
    /// docs/data.md); the flags above override its values.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Celeba,
    Lfwa,
    Maad,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Dataset root directory.
    root: PathBuf,
    #[arg(long, value_enum, default_value = "celeba")]
    format: FormatArg,
    /// Directory of part masks [default: ROOT/masks when present].
    #[arg(long)]
    masks: Option<PathBuf>,
}

pub fn run(_global: &GlobalArgs, args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Synth(args) => synth(args),
        DataCommand::Check(args) => check(args),
    }
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<SynthConfig>(&text)
                .with_context(|| format!("{}: invalid generator configuration", path.display()))?
        }
        None => SynthConfig::default(),
    };
    config.count = args.count.unwrap_or(config.count);
    config.size = args.size.unwrap_or(config.size);
    config.seed = args.seed.unwrap_or(config.seed);
    let start = Instant::now();
    synth::write_dataset(&args.out, &config)
        .with_context(|| format!("writing the synthetic dataset to {}", args.out.display()))?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "wrote {} faces of {}x{} px (seed {}) to {} in {seconds:.2} s ({:.0} faces/s)",
        config.count,
        config.size,
        config.size,
        config.seed,
        args.out.display(),
        config.count as f64 / seconds
    );
    Ok(())
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let format = match args.format {
        FormatArg::Celeba => Format::Celeba,
        FormatArg::Lfwa => Format::Lfwa,
        FormatArg::Maad => Format::Maad,
    };
    let spec = DatasetSpec {
        format,
        root: args.root,
        masks: args.masks,
    };
    let dataset =
        Dataset::open(&spec).with_context(|| format!("opening dataset {}", spec.root.display()))?;
    let (width, height) = dataset.image_size;
    let masked = dataset.samples.iter().filter(|s| s.mask.is_some()).count();
    println!(
        "{}: {} images of {width}x{height}, {} attributes, {masked} with part masks",
        spec.root.display(),
        dataset.samples.len(),
        dataset.attributes.len(),
    );
    for split in Split::ALL {
        println!("  {split:?}: {}", dataset.split_indices(split).len());
    }
    Ok(())
}
