//! Input-pipeline throughput, each figure next to a reference measured in
//! the same run:
//! - synthetic faces per second on one core: rendered, rendered and
//!   PNG-encoded (the generator's own work), and written to disk; against
//!   decoding the same PNGs on one core, and against writing the same files
//!   from memory just before and after (what the file system alone costs);
//! - the image cache (parallel decode), in images per second;
//! - PRT and PST/PCT batches per second, against a ResNet-18 training step
//!   (tch) on the same batch and input size: a ratio above 1 means the
//!   auxiliary-task inputs are built faster than the backbone consumes them.
//!
//! Run: `source scripts/env.sh && cargo bench --bench data`
//! (`ABLATE_BENCH_FACES` sets the number of faces, default 2000).

use ablate::data::synth::{self, SynthConfig};
use ablate::data::tasks::{self, PatchSpec, PrtSpec};
use ablate::data::{Dataset, DatasetSpec, Format, ImageCache, Split};
use image::ExtendedColorType;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;
use tch::nn::{ModuleT, OptimizerConfig};
use tch::{nn, Device, Kind, Tensor};

const BATCH: i64 = 32;

fn per_second(count: usize, run: impl FnOnce()) -> f64 {
    let start = Instant::now();
    run();
    count as f64 / start.elapsed().as_secs_f64()
}

fn one_core<T: Send>(run: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
        .install(run)
}

fn main() -> anyhow::Result<()> {
    let faces: u32 = std::env::var("ABLATE_BENCH_FACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    tch::set_num_threads(1);
    println!("input pipeline benchmark: {faces} faces, 1 core unless noted");

    // Directories live until the end: deleting thousands of files slows the
    // next file creations on some file systems (ext4 without a journal skips
    // recently freed inodes), which would bias the later measurements.
    let mut kept = Vec::new();
    for size in [64u32, 128] {
        let config = SynthConfig {
            count: faces,
            size,
            seed: 1,
            ..SynthConfig::default()
        };
        let render = one_core(|| {
            per_second(faces as usize, || {
                for index in 0..faces as u64 {
                    std::hint::black_box(synth::render(&config, index));
                }
            })
        });
        // The encoded files are kept for the file-system reference below.
        let mut files = Vec::with_capacity(2 * faces as usize);
        let encode = one_core(|| {
            per_second(faces as usize, || {
                for index in 0..faces as u64 {
                    let face = synth::render(&config, index);
                    for (kind, bytes, color) in [
                        ("image", &face.rgb, ExtendedColorType::Rgb8),
                        ("mask", &face.mask, ExtendedColorType::L8),
                    ] {
                        let png = synth::encode_png(bytes, size, color).expect("encodes");
                        files.push((format!("{index}-{kind}.png"), png));
                    }
                }
            })
        });
        // The file system's share: the same files written from memory, just
        // before and just after `write_dataset`. Its state can change within
        // a run (see `kept`); two references show when it did.
        let write_files = || {
            let copies = tempfile::tempdir().expect("a directory");
            let rate = per_second(faces as usize, || {
                for (name, bytes) in &files {
                    std::fs::write(copies.path().join(name), bytes).expect("writes");
                }
            });
            (rate, copies)
        };
        let (files_before, copies_before) = write_files();
        let dir = tempfile::tempdir()?;
        let write = one_core(|| {
            per_second(faces as usize, || {
                synth::write_dataset(dir.path(), &config).expect("writes")
            })
        });
        let (files_after, copies_after) = write_files();
        let dataset = Dataset::open(&DatasetSpec {
            format: Format::Celeba,
            root: dir.path().to_path_buf(),
            masks: None,
        })?;
        let decode = one_core(|| {
            per_second(faces as usize, || {
                for sample in &dataset.samples {
                    std::hint::black_box(image::open(&sample.image).expect("decodes"));
                }
            })
        });
        println!(
            "synth {size:>3} px: render {render:>6.0} faces/s; render + PNG encoding {encode:>6.0} faces/s; \
             write_dataset to disk {write:>6.0} faces/s"
        );
        let ratio = encode / decode;
        println!(
            "           references: PNG decode {decode:>6.0} images/s (render+encode/decode = {ratio:.2}); \
             the same files written from memory {files_before:>6.0} faces/s before, {files_after:>6.0} after"
        );
        kept.extend([dir, copies_before, copies_after]);
    }

    let config = SynthConfig {
        count: faces,
        size: 64,
        seed: 2,
        ..SynthConfig::default()
    };
    let dir = tempfile::tempdir()?;
    synth::write_dataset(dir.path(), &config)?;
    let dataset = Dataset::open(&DatasetSpec {
        format: Format::Celeba,
        root: dir.path().to_path_buf(),
        masks: None,
    })?;
    let train = dataset.split_indices(Split::Train);
    let threads = rayon::current_num_threads();
    let mut cache = None;
    let cache_rate = per_second(train.len(), || {
        cache = Some(ImageCache::load(&dataset, &train, 64).expect("caches"))
    });
    let cache = cache.expect("loaded");
    println!("cache 64 px ({threads} threads): {cache_rate:.0} images/s decoded into tensors");

    let masks = cache.masks.as_ref().expect("synthetic faces have masks");
    let batches = (cache.len() as i64 / BATCH).clamp(1, 10);
    let images_of = |b: i64| cache.images.narrow(0, b * BATCH, BATCH);
    let masks_of = |b: i64| masks.narrow(0, b * BATCH, BATCH);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (prt_spec, patch_spec) = (PrtSpec::scaled(3, 64, 32), PatchSpec::scaled(64, 32));
    let images = (batches * BATCH) as usize;
    let prt = per_second(images, || {
        for b in 0..batches {
            tasks::prt_batch(&images_of(b), Some(&masks_of(b)), &prt_spec, &mut rng)
                .expect("PRT batch");
        }
    });
    let patch = per_second(images, || {
        for b in 0..batches {
            tasks::patch_batch(&images_of(b), &masks_of(b), &patch_spec, &mut rng)
                .expect("PST batch");
        }
    });

    let vs = nn::VarStore::new(Device::Cpu);
    let net = tch::vision::resnet::resnet18(&vs.root(), 19);
    let mut opt = nn::Adam::default().build(&vs, 1e-4)?;
    let input = Tensor::randn([BATCH, 3, 32, 32], (Kind::Float, Device::Cpu));
    let target = Tensor::zeros([BATCH], (Kind::Int64, Device::Cpu));
    let steps = 3;
    let train_rate = per_second((steps * BATCH) as usize, || {
        for _ in 0..steps {
            let loss = net
                .forward_t(&input, true)
                .cross_entropy_for_logits(&target);
            opt.backward_step(&loss);
        }
    });
    println!("reference ResNet-18 training step, batch {BATCH} at 32 px: {train_rate:.0} images/s");
    println!(
        "PRT (m=3, 64->32 px):     {prt:>8.0} images/s; PRT/train = {:.2}",
        prt / train_rate
    );
    println!(
        "PST/PCT (19 of 64->32 px): {patch:>8.0} images/s; PST/train = {:.2}",
        patch / train_rate
    );
    Ok(())
}
