//! `ablate model stats`: parameters, FLOPs and latency of a variant's models.

use super::GlobalArgs;
use ablate::groups::CELEBA;
use ablate::model::stats::{self, ModelStats, Speed, VariantStats};
use ablate::model::Stage;
use ablate::profile::Profile;
use ablate::registry::Registry;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Parameters and FLOPs of the stage-1 and stage-2 models.
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
struct StatsArgs {
    /// Variant name (see `ablate variants list`).
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    variant: Option<String>,
    /// Every variant, with latency and throughput on the current device.
    #[arg(long)]
    all: bool,
    /// Scale profile: paper, small or tiny.
    #[arg(long, default_value = "paper")]
    profile: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Batch size of the throughput measurement (`--all`).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(i64).range(1..))]
    batch: i64,
    /// Untimed passes before timing (`--all`).
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed passes averaged (`--all`).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    iters: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    stats: VariantStats,
    device: String,
    speed: Speed,
}

pub fn run(global: &GlobalArgs, args: ModelArgs) -> anyhow::Result<()> {
    let ModelCommand::Stats(args) = args.command;
    let registry = Registry::load(std::slice::from_ref(&global.variants))?;
    let profile = Profile::by_name(&args.profile)?;
    let device = global.device.resolve()?;
    // Table 10 is measured on CelebA: 40 attributes size the FAR heads.
    let attributes = &CELEBA;
    match &args.variant {
        Some(name) => {
            let variant = registry.get(name)?;
            let stats = stats::variant_stats(variant, &profile, attributes, device)?;
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
                Format::Text => print!("{}", describe(&stats)),
            }
        }
        None => {
            let mut rows = Vec::new();
            for variant in registry.variants() {
                let stats = stats::variant_stats(variant, &profile, attributes, device)?;
                let (_vs, model) = stats::build(variant, &profile, Stage::Far, attributes, device)?;
                let speed =
                    stats::speed(&model, device, args.batch, args.warmup, args.iters as usize);
                rows.push(Row {
                    stats,
                    device: ablate::device::describe(device),
                    speed,
                });
            }
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Text => print!("{}", table(&rows, &profile)),
            }
        }
    }
    Ok(())
}

/// `n` with an SI suffix and three decimals (26.354M, 10.328G, 2.257M).
fn si(n: u64) -> String {
    let n = n as f64;
    match [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(scale, _)| n >= *scale)
    {
        Some((scale, suffix)) => format!("{:.3}{suffix}", n / scale),
        None => format!("{n}"),
    }
}

fn describe_model(m: &ModelStats) -> String {
    let mut out = format!(
        "{} model: {} params, {} FLOPs (multiply-adds per image)\n",
        m.stage,
        si(m.params),
        si(m.flops)
    );
    for (module, s) in &m.modules {
        out += &format!("  {module:<16} {:>10} {:>10}\n", si(s.params), si(s.flops));
    }
    out
}

fn describe(stats: &VariantStats) -> String {
    let mut out = format!("{} at profile {}\n", stats.variant, stats.profile);
    match &stats.stage1 {
        Some(m) => out += &describe_model(m),
        None => out += "no pre-training model (trained on labels only)\n",
    }
    out + &describe_model(&stats.stage2)
}

fn table(rows: &[Row], profile: &Profile) -> String {
    let mut out = format!(
        "profile {}, FLOPs = multiply-adds per image, speed of the stage-2 (FAR) model\n\n| variant | stage-1 params | stage-1 FLOPs | stage-2 params | stage-2 FLOPs | latency (ms, batch 1) | images/s (batch {}) | device |\n|---|---|---|---|---|---|---|---|\n",
        profile.name,
        rows.first().map_or(0, |r| r.speed.batch)
    );
    for r in rows {
        let (p1, f1) = r
            .stats
            .stage1
            .as_ref()
            .map_or(("-".into(), "-".into()), |m| (si(m.params), si(m.flops)));
        out += &format!(
            "| {} | {p1} | {f1} | {} | {} | {:.2} | {:.1} | {} |\n",
            r.stats.variant,
            si(r.stats.stage2.params),
            si(r.stats.stage2.flops),
            r.speed.latency_ms,
            r.speed.images_per_s,
            r.device
        );
    }
    out
}
