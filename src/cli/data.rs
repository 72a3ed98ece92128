//! `ablate data`: write the synthetic face dataset, check a dataset on disk.

use super::GlobalArgs;
use ablate::data::proxy::{self, ParserConfig, TrainedParser};
use ablate::data::synth::{self, SynthConfig};
use ablate::data::{subset, Dataset, DatasetSpec, Format, ImageCache, Split};
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
    /// Train a compact face parser on a limited number of images with part
    /// masks, report its mIoU on held-out masks and write a proxy mask for
    /// every image.
    ProxyMasks(ProxyArgs),
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

#[derive(Debug, Args)]
struct ProxyArgs {
    #[command(flatten)]
    dataset: CheckArgs,
    /// Directory for the proxy masks (must be new or empty).
    #[arg(long)]
    out: PathBuf,
    /// Number of training images with masks the parser learns from.
    #[arg(long, default_value_t = 200)]
    labelled: usize,
    /// Training epochs [default: 30].
    #[arg(long)]
    epochs: Option<usize>,
    /// Parser input side in pixels [default: 64].
    #[arg(long)]
    size: Option<u32>,
    /// Seed of the image choice and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(global: &GlobalArgs, args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Synth(args) => synth(args),
        DataCommand::Check(args) => check(args).map(drop),
        DataCommand::ProxyMasks(args) => proxy_masks(global, args),
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

fn check(args: CheckArgs) -> anyhow::Result<Dataset> {
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
    Ok(dataset)
}

fn proxy_masks(global: &GlobalArgs, args: ProxyArgs) -> anyhow::Result<()> {
    let device = global.device.resolve()?;
    if std::fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        anyhow::bail!(
            "{}: not empty; proxy masks go to a new or empty directory",
            args.out.display()
        );
    }
    let dataset = check(args.dataset)?;
    let config = ParserConfig {
        epochs: args.epochs.unwrap_or(ParserConfig::default().epochs),
        size: args.size.unwrap_or(ParserConfig::default().size),
        ..ParserConfig::default()
    };
    let masked = |split: Split| -> Vec<usize> {
        dataset
            .split_indices(split)
            .into_iter()
            .filter(|&i| dataset.samples[i].mask.is_some())
            .collect()
    };
    let mut pool = subset::ranked(&dataset, masked(Split::Train), args.seed);
    if pool.is_empty() {
        anyhow::bail!("no training image has a part mask: nothing to train the parser on");
    }
    let rest = pool.split_off(args.labelled.min(pool.len()));
    let labelled = pool;
    // Held out: the val and test masks, else the unused training masks.
    let mut held_out = [masked(Split::Val), masked(Split::Test)].concat();
    if held_out.is_empty() {
        held_out = rest;
    }

    let start = Instant::now();
    let cache = ImageCache::load(&dataset, &labelled, config.size)?;
    let parser = TrainedParser::train(&cache, &config, device, args.seed)?;
    println!(
        "parser trained on {} images with masks ({} epochs at {} px) in {:.1} s",
        labelled.len(),
        config.epochs,
        config.size,
        start.elapsed().as_secs_f64()
    );
    if held_out.is_empty() {
        println!("no held-out masks: mIoU not measured");
    } else {
        let truth = ImageCache::load(&dataset, &held_out, config.size)?;
        let predicted = parser.predict(&truth.images);
        let truth_masks = truth.masks.as_ref().context("held-out masks")?;
        println!(
            "mIoU on {} held-out masks: {:.4}",
            held_out.len(),
            proxy::mean_iou(&predicted, truth_masks)
        );
    }
    let written = proxy::write_masks(&dataset, &parser, &args.out)?;
    println!("wrote {written} proxy masks to {}", args.out.display());
    Ok(())
}
