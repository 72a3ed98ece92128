//! Datasets: the synthetic generator through the real loaders, the formats'
//! errors, the image cache, auxiliary-task inputs and label subsets.

use crate::support::{ablate, stderr, stdout};
use ablate::data::synth::{self, SynthConfig};
use ablate::data::tasks::{self, PatchSpec, PrtSpec};
use ablate::data::{label_subset, Dataset, DatasetSpec, Format, ImageCache, Split};
use ablate::groups::{CELEBA, MAAD};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fs;
use std::path::{Path, PathBuf};

fn small_config(count: u32, seed: u64) -> SynthConfig {
    SynthConfig {
        count,
        size: 32,
        seed,
        ..SynthConfig::default()
    }
}

fn synth_dir(count: u32, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    synth::write_dataset(dir.path(), &small_config(count, seed)).unwrap();
    dir
}

fn celeba(root: &Path) -> DatasetSpec {
    DatasetSpec {
        format: Format::Celeba,
        root: root.to_path_buf(),
        masks: None,
    }
}

fn open_error(spec: &DatasetSpec) -> String {
    match Dataset::open(spec) {
        Ok(_) => panic!("{} opened, expected an error", spec.root.display()),
        Err(err) => err.to_string(),
    }
}

fn files_of(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&path).unwrap(),
                ));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn synthetic_faces_open_through_the_celeba_loader() {
    let dir = synth_dir(40, 1);
    let dataset = Dataset::open(&celeba(dir.path())).unwrap();
    assert_eq!(dataset.samples.len(), 40);
    assert_eq!(dataset.attributes.name, CELEBA.name);
    assert_eq!(dataset.image_size, (32, 32));
    assert_eq!(dataset.split_indices(Split::Train).len(), 32);
    assert_eq!(dataset.split_indices(Split::Val).len(), 4);
    assert_eq!(dataset.split_indices(Split::Test).len(), 4);
    assert!(dataset.samples.iter().all(|s| s.mask.is_some()));
    let header = fs::read_to_string(dir.path().join("list_attr_celeba.txt")).unwrap();
    let names: Vec<&str> = header.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(names, CELEBA.names().collect::<Vec<_>>());
    // Correlations the generator promises: no woman has a beard label.
    let (male, no_beard) = (
        CELEBA.index_of("Male").unwrap(),
        CELEBA.index_of("No_Beard").unwrap(),
    );
    assert!(dataset
        .samples
        .iter()
        .all(|s| s.labels[male] == 1 || s.labels[no_beard] == 1));
}

#[test]
fn synthesis_is_byte_identical_for_a_seed() {
    let (a, b, c) = (synth_dir(12, 7), synth_dir(12, 7), synth_dir(12, 8));
    let (files_a, files_b, files_c) = (files_of(a.path()), files_of(b.path()), files_of(c.path()));
    assert_eq!(files_a.len(), 12 * 2 + 3);
    assert!(files_a == files_b);
    let differing = files_a
        .iter()
        .zip(&files_c)
        .filter(|(x, y)| x.1 != y.1)
        .count();
    assert!(
        differing > 20,
        "seed 8 should change almost every file, changed {differing}"
    );
}

#[test]
fn synth_command_writes_a_dataset_and_refuses_to_overwrite_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("faces");
    let out_str = out.to_str().unwrap();
    let args = [
        "data", "synth", "--out", out_str, "--count", "10", "--size", "24", "--seed", "3",
    ];
    let first = ablate(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("wrote 10 faces of 24x24 px"),
        "{}",
        stdout(&first)
    );
    let before = files_of(&out);
    let second = ablate(&args);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("already exists"),
        "{}",
        stderr(&second)
    );
    assert!(
        before == files_of(&out),
        "a refused run must leave the dataset untouched"
    );

    let check = ablate(&["data", "check", out_str]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("10 images of 24x24, 40 attributes, 10 with part masks"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn synth_rejects_a_bad_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hard.toml");
    fs::write(&config, "[difficulty]\nnoise = 0.1\nclutterr = 3\n").unwrap();
    let out = dir.path().join("faces");
    let run = ablate(&[
        "data",
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("hard.toml") && stderr(&run).contains("clutterr"),
        "{}",
        stderr(&run)
    );
}

/// Rewrites line `line` (1-based) of `file` under `root` with `edit`.
fn edit_line(root: &Path, file: &str, line: usize, edit: impl Fn(&str) -> String) {
    let path = root.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                edit(l)
            } else {
                l.to_string()
            }
        })
        .collect();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// A way to break a dataset and the pieces its error message must hold.
type Breakage<'a> = (&'a str, Box<dyn Fn(&Path)>, Vec<&'a str>);

#[test]
fn celeba_errors_name_the_file_and_line() {
    const ATTR: &str = "list_attr_celeba.txt";
    let cases: Vec<Breakage> = vec![
        (
            "short row",
            Box::new(|root| {
                edit_line(root, ATTR, 5, |l| l.rsplit_once(' ').unwrap().0.to_string())
            }),
            vec![ATTR, "line 5", "expected 40 label values, found 39"],
        ),
        (
            "bad value",
            Box::new(|root| edit_line(root, ATTR, 4, |l| l.replacen(" -1", " 0", 1))),
            vec![ATTR, "line 4", "\"0\""],
        ),
        (
            "unknown name",
            Box::new(|root| edit_line(root, ATTR, 2, |l| l.replace("Smiling", "Smilling"))),
            vec![ATTR, "line 2", "Smilling"],
        ),
        (
            "bad count",
            Box::new(|root| edit_line(root, ATTR, 1, |_| "7".into())),
            vec![ATTR, "announces 7"],
        ),
        (
            "bad split",
            Box::new(|root| {
                edit_line(root, "list_eval_partition.txt", 3, |l| {
                    l.replace(" 0", " 5")
                })
            }),
            vec!["list_eval_partition.txt", "line 3", "\"5\""],
        ),
        (
            "missing image",
            Box::new(|root| fs::remove_file(root.join("img_align_celeba/000004.png")).unwrap()),
            vec!["000004.png", "not found"],
        ),
        (
            "wrong size",
            Box::new(|root| {
                image::RgbImage::new(20, 32)
                    .save(root.join("img_align_celeba/000006.png"))
                    .unwrap()
            }),
            vec!["000006.png", "20x32", "expected 32x32"],
        ),
        (
            "unreadable",
            Box::new(|root| {
                fs::write(root.join("img_align_celeba/000002.png"), b"not a png").unwrap()
            }),
            vec!["000002.png", "cannot decode"],
        ),
        (
            "mask class",
            Box::new(|root| {
                let mut mask = image::GrayImage::new(32, 32);
                mask.put_pixel(5, 9, image::Luma([19]));
                mask.save(root.join("masks/000003.png")).unwrap();
            }),
            vec!["000003.png", "pixel (5, 9)", "class 19"],
        ),
        (
            "missing file",
            Box::new(|root| fs::remove_file(root.join(ATTR)).unwrap()),
            vec![ATTR],
        ),
    ];
    let pristine = synth_dir(8, 2);
    for (what, break_it, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in files_of(pristine.path()) {
            let target = dir.path().join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(target, bytes).unwrap();
        }
        break_it(dir.path());
        let message = open_error(&celeba(dir.path()));
        for needle in expected {
            assert!(
                message.contains(needle),
                "{what}: {needle:?} not in {message:?}"
            );
        }
    }
}

/// LFWA text layout built from a synthetic dataset's images and labels.
fn lfwa_from(synthetic: &Path, root: &Path) -> Dataset {
    let source = Dataset::open(&celeba(synthetic)).unwrap();
    fs::create_dir_all(root.join("lfw/Some_Person")).unwrap();
    let mut attributes = CELEBA.names().collect::<Vec<_>>().join("\t") + "\n";
    let (mut train, mut test) = (String::new(), String::new());
    for (i, sample) in source.samples.iter().enumerate() {
        let name = format!("Some_Person/Some_Person_{:04}.png", i + 1);
        fs::copy(&sample.image, root.join("lfw").join(&name)).unwrap();
        let values: Vec<String> = sample.labels.iter().map(|v| v.to_string()).collect();
        attributes += &format!("{name} {}\n", values.join(" "));
        let list = if i % 2 == 0 { &mut train } else { &mut test };
        *list += &format!("{name}\n");
    }
    fs::write(root.join("lfwa_attributes.txt"), attributes).unwrap();
    fs::write(root.join("lfwa_train.txt"), train).unwrap();
    fs::write(root.join("lfwa_test.txt"), test).unwrap();
    source
}

#[test]
fn lfwa_text_layout_opens_and_reports_unsplit_images() {
    let synthetic = synth_dir(6, 4);
    let root = tempfile::tempdir().unwrap();
    let source = lfwa_from(synthetic.path(), root.path());
    let spec = DatasetSpec {
        format: Format::Lfwa,
        root: root.path().to_path_buf(),
        masks: None,
    };
    let dataset = Dataset::open(&spec).unwrap();
    assert_eq!(dataset.samples.len(), 6);
    assert_eq!(dataset.split_indices(Split::Train).len(), 3);
    assert_eq!(dataset.split_indices(Split::Val).len(), 0);
    assert_eq!(dataset.samples[5].labels, source.samples[5].labels);
    assert!(!dataset.has_masks());

    edit_line(root.path(), "lfwa_test.txt", 2, |_| String::new());
    let message = open_error(&spec);
    assert!(
        message.contains("lfwa_attributes.txt: line 5") && message.contains("in no split list"),
        "{message}"
    );
}

#[test]
fn maad_keeps_undefined_labels_and_names_bad_rows() {
    let synthetic = synth_dir(4, 5);
    let source = Dataset::open(&celeba(synthetic.path())).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut csv = format!(
        "Filename,Identity,{}\n",
        MAAD.names().collect::<Vec<_>>().join(",")
    );
    for (i, sample) in source.samples.iter().enumerate() {
        let (dir, name) = (
            if i < 3 { "train" } else { "test" },
            format!("n00000{i}/0001_01.png"),
        );
        fs::create_dir_all(root.path().join(dir).join(format!("n00000{i}"))).unwrap();
        fs::copy(&sample.image, root.path().join(dir).join(&name)).unwrap();
        let values: Vec<&str> = (0..MAAD.len())
            .map(|k| ["1", "0", "-1"][(k + i) % 3])
            .collect();
        csv += &format!("{name},{i},{}\n", values.join(","));
    }
    fs::write(root.path().join("MAAD_Face.csv"), &csv).unwrap();
    let spec = DatasetSpec {
        format: Format::Maad,
        root: root.path().to_path_buf(),
        masks: None,
    };
    let dataset = Dataset::open(&spec).unwrap();
    assert_eq!(dataset.attributes.name, MAAD.name);
    assert_eq!(dataset.split_indices(Split::Train), vec![0, 1, 2]);
    assert_eq!(dataset.split_indices(Split::Test), vec![3]);
    assert_eq!(&dataset.samples[1].labels[..3], &[0, -1, 1]);

    fs::write(
        root.path().join("MAAD_Face.csv"),
        csv.replacen(",-1,", ",2,", 1),
    )
    .unwrap();
    let message = open_error(&spec);
    assert!(
        message.contains("MAAD_Face.csv: line 2") && message.contains("\"2\""),
        "{message}"
    );
}

#[test]
fn cache_holds_decoded_images_masks_and_labels() {
    let dir = synth_dir(10, 6);
    let dataset = Dataset::open(&celeba(dir.path())).unwrap();
    let train = dataset.split_indices(Split::Train);
    let cache = ImageCache::load(&dataset, &train, 16).unwrap();
    assert_eq!(cache.images.size(), [8, 3, 16, 16]);
    let masks = cache.masks.as_ref().unwrap();
    assert_eq!(masks.size(), [8, 16, 16]);
    assert!(masks.max().int64_value(&[]) < 19);
    assert!(masks.eq(1).any().int64_value(&[]) == 1, "faces have skin");
    assert_eq!(cache.labels.size(), [8, 40]);
    let row: Vec<i8> = Vec::try_from(cache.labels.get(3)).unwrap();
    assert_eq!(row, dataset.samples[train[3]].labels);
    // At full size the cache holds exactly the PNG bytes.
    let full = ImageCache::load(&dataset, &train[..1], 32).unwrap();
    let png = image::open(&dataset.samples[train[0]].image)
        .unwrap()
        .into_rgb8();
    let cached: Vec<u8> =
        Vec::try_from(full.images.get(0).permute([1, 2, 0]).contiguous().view(-1)).unwrap();
    assert_eq!(cached, png.into_raw());
}

#[test]
fn task_inputs_come_from_cached_synthetic_faces() {
    let dir = synth_dir(6, 9);
    let dataset = Dataset::open(&celeba(dir.path())).unwrap();
    let cache = ImageCache::load(&dataset, &[0, 1, 2, 3], 32).unwrap();
    let masks = cache.masks.as_ref().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for m in 1..=8 {
        let spec = PrtSpec::scaled(m, 48, 16);
        let batch = tasks::prt_batch(&cache.images, Some(masks), &spec, &mut rng).unwrap();
        assert_eq!(batch.input.size(), [4, 3 * m * m, 16, 16], "m = {m}");
        assert!(batch.patch.max().int64_value(&[]) < m * m);
        assert!(batch.angle.max().int64_value(&[]) <= 2);
    }
    let spec = PatchSpec::scaled(48, 20);
    let batch = tasks::patch_batch(&cache.images, masks, &spec, &mut rng).unwrap();
    assert_eq!(batch.input.size(), [4, 3, 20, 20]);
    assert_eq!(batch.pixels.size(), [4, 20, 20]);
    assert_eq!(batch.components.size(), [4, 19]);
    // Every labelled component occurs in the patch.
    for b in 0..4 {
        let present = batch
            .pixels
            .get(b)
            .view(-1)
            .bincount(None::<tch::Tensor>, 19)
            .gt(0);
        let labelled = batch.components.get(b).gt(0.5);
        assert_eq!(
            labelled
                .logical_and(&present.logical_not())
                .any()
                .int64_value(&[]),
            0
        );
    }
}

#[test]
fn label_subsets_are_nested_deterministic_and_never_empty() {
    let dir = synth_dir(50, 10);
    let dataset = Dataset::open(&celeba(dir.path())).unwrap();
    let train = dataset.split_indices(Split::Train);
    let tiny = label_subset(&dataset, 0.01, 3).unwrap();
    assert_eq!(tiny.len(), 1);
    let mut previous = tiny;
    for percent in [5.0, 10.0, 20.0, 50.0, 100.0] {
        let subset = label_subset(&dataset, percent, 3).unwrap();
        assert_eq!(
            subset.len(),
            (train.len() as f64 * percent / 100.0).ceil() as usize
        );
        assert!(
            previous.iter().all(|i| subset.contains(i)),
            "{percent}% must contain the smaller subset"
        );
        assert!(subset.iter().all(|i| train.contains(i)));
        assert_eq!(subset, label_subset(&dataset, percent, 3).unwrap());
        previous = subset;
    }
    assert_ne!(
        label_subset(&dataset, 20.0, 3).unwrap(),
        label_subset(&dataset, 20.0, 4).unwrap()
    );
    assert!(label_subset(&dataset, 0.0, 3)
        .unwrap_err()
        .to_string()
        .contains("(0, 100]"));
}

#[test]
fn proxy_parser_learns_masks_and_writes_one_per_image() {
    use ablate::data::proxy::{self, ParserConfig, TrainedParser};
    let dir = synth_dir(40, 12);
    let dataset = Dataset::open(&celeba(dir.path())).unwrap();
    let config = ParserConfig {
        size: 32,
        width: 8,
        epochs: 12,
        batch: 8,
        learning_rate: 1e-2,
    };
    let train = ImageCache::load(&dataset, &dataset.split_indices(Split::Train), 32).unwrap();
    let parser = TrainedParser::train(&train, &config, tch::Device::Cpu, 0).unwrap();
    let held_out: Vec<usize> = [Split::Val, Split::Test]
        .iter()
        .flat_map(|&s| dataset.split_indices(s))
        .collect();
    let truth = ImageCache::load(&dataset, &held_out, 32).unwrap();
    let truth_masks = truth.masks.as_ref().unwrap();
    let miou = proxy::mean_iou(&parser.predict(&truth.images), truth_masks);
    let all_background = proxy::mean_iou(&truth_masks.zeros_like(), truth_masks);
    assert!(
        miou > 2.0 * all_background && miou <= 1.0,
        "parser mIoU {miou}, constant {all_background}"
    );

    let out = tempfile::tempdir().unwrap();
    assert_eq!(
        proxy::write_masks(&dataset, &parser, out.path()).unwrap(),
        40
    );
    let spec = DatasetSpec {
        masks: Some(out.path().to_path_buf()),
        ..celeba(dir.path())
    };
    let with_proxies = Dataset::open(&spec).unwrap();
    assert!(with_proxies
        .samples
        .iter()
        .all(|s| s.mask.as_deref().is_some_and(|m| m.starts_with(out.path()))));
}
