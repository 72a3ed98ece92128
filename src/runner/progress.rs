//! Progress of a grid: the whole grid, and one line per worker with the run
//! in hand (variant, proportion, seed, stage, epoch/total, last loss, ETA).
//!
//! Three displays: bars when stderr is a terminal outside CI; plain log
//! lines otherwise; and, in a worker process that `ablate run` started, one
//! JSON [`Event`] per line on stdout, which the parent reads and replays on
//! its own display ([`Progress::report`] with the worker's slot).

use crate::store::Store;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// What a worker tells about its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The worker process is up with this many libtorch threads.
    Started {
        pid: u32,
        threads: i32,
    },
    /// A run starts (`label` like `SPL-Net 10% seed 1`).
    Run {
        label: String,
        attempt: u32,
        device: String,
    },
    /// An epoch of the run finished; `values` are its metrics.
    Epoch {
        stage: String,
        epoch: u32,
        epochs: u32,
        values: Vec<(String, f64)>,
    },
    /// The run is over: `done`, `failed` or `lost` (reclaimed by another).
    RunEnd {
        outcome: String,
    },
    Note {
        message: String,
    },
}

impl Event {
    /// The loss a progress line shows: the joint `loss` where there is one,
    /// else FAR's.
    fn headline_loss(values: &[(String, f64)]) -> Option<(&str, f64)> {
        ["loss", "far"].into_iter().find_map(|name| {
            values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(n, v)| (n.as_str(), *v))
        })
    }
}

/// One worker's line: `SPL-Net 10% seed 1 · stage1 3/5 · loss 0.4321`.
pub fn run_line(
    label: &str,
    stage: &str,
    epoch: u32,
    epochs: u32,
    values: &[(String, f64)],
) -> String {
    let mut line = format!("{label} · {stage} {epoch}/{epochs}");
    if let Some((name, value)) = Event::headline_loss(values) {
        line.push_str(&format!(" · {name} {value:.4}"));
    }
    line
}

#[derive(Clone)]
pub struct Progress {
    display: Display,
    /// Per worker slot: the run in hand and its current stage.
    slots: Arc<Mutex<Vec<Slot>>>,
}

#[derive(Clone)]
enum Display {
    Bars(Arc<Bars>),
    Log { workers: usize },
    Json,
}

struct Bars {
    multi: MultiProgress,
    grid: ProgressBar,
    workers: Vec<ProgressBar>,
}

#[derive(Default, Clone)]
struct Slot {
    label: String,
    stage: String,
}

impl Progress {
    /// Bars for a grid of `total` runs and `workers` worker lines, if
    /// stderr is a terminal outside CI; log lines otherwise.
    pub fn new(total: u64, workers: usize, show: bool) -> Progress {
        let workers = workers.max(1);
        let visible = show && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        if !visible {
            return Progress::with(Display::Log { workers }, workers);
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let grid = multi.add(ProgressBar::new(total));
        grid.set_style(
            ProgressStyle::with_template("grid {bar:30} {pos}/{len} runs  {elapsed} (ETA {eta})")
                .expect("valid template"),
        );
        let style = ProgressStyle::with_template("{prefix:>3} {bar:20} {msg} (ETA {eta})")
            .expect("valid template");
        let bars = (1..=workers)
            .map(|n| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(format!("w{n}"));
                bar.set_message("idle");
                bar
            })
            .collect();
        Progress::with(
            Display::Bars(Arc::new(Bars {
                multi,
                grid,
                workers: bars,
            })),
            workers,
        )
    }

    /// Log lines only (one worker).
    pub fn hidden() -> Progress {
        Progress::with(Display::Log { workers: 1 }, 1)
    }

    /// JSON lines on stdout, for the parent `ablate run` to read.
    pub fn json() -> Progress {
        Progress::with(Display::Json, 1)
    }

    fn with(display: Display, workers: usize) -> Progress {
        Progress {
            display,
            slots: Arc::new(Mutex::new(vec![Slot::default(); workers])),
        }
    }

    /// Shows `event` of the worker in `slot` (counting from 0).
    pub fn report(&self, slot: usize, event: Event) {
        let (label, stage_changed) = self.track(slot, &event);
        match &self.display {
            Display::Json => {
                let mut out = std::io::stdout().lock();
                // A parent that went away ends this process anyway.
                let _ = serde_json::to_writer(&mut out, &event);
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            Display::Log { workers } => log(slot, *workers, &label, &event),
            Display::Bars(bars) => bars.show(slot, &label, stage_changed, &event),
        }
    }

    /// Updates the slot's run and stage; returns the run's label and
    /// whether this event starts a new stage.
    fn track(&self, slot: usize, event: &Event) -> (String, bool) {
        let Ok(mut slots) = self.slots.lock() else {
            return (String::new(), false);
        };
        if slots.len() <= slot {
            slots.resize(slot + 1, Slot::default());
        }
        let state = &mut slots[slot];
        let mut changed = false;
        match event {
            Event::Run { label, .. } => {
                *state = Slot {
                    label: label.clone(),
                    stage: String::new(),
                }
            }
            Event::Epoch { stage, .. } if *stage != state.stage => {
                state.stage = stage.clone();
                changed = true;
            }
            _ => {}
        }
        (state.label.clone(), changed)
    }

    pub fn note(&self, message: &str) {
        self.report(
            0,
            Event::Note {
                message: message.to_string(),
            },
        );
    }

    pub fn start_run(&self, label: &str, attempt: u32, device: &str) {
        self.report(
            0,
            Event::Run {
                label: label.to_string(),
                attempt,
                device: device.to_string(),
            },
        );
    }

    pub fn epoch(&self, stage: &str, epoch: u32, epochs: u32, values: &[(&str, f64)]) {
        self.report(
            0,
            Event::Epoch {
                stage: stage.to_string(),
                epoch,
                epochs,
                values: values.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
            },
        );
    }

    pub fn end_run(&self, outcome: &str) {
        self.report(
            0,
            Event::RunEnd {
                outcome: outcome.to_string(),
            },
        );
    }

    /// Moves the grid bar to the runs that are done or failed for good.
    pub async fn set_finished(&self, store: &Store, experiment: Option<&str>) {
        let (Display::Bars(bars), Some(experiment)) = (&self.display, experiment) else {
            return;
        };
        if let Ok(runs) = store.runs(experiment).await {
            let finished = runs
                .iter()
                .filter(|r| r.status == "done" || r.status == "failed")
                .count();
            bars.grid.set_position(finished as u64);
        }
    }

    pub fn finish(&self) {
        if let Display::Bars(bars) = &self.display {
            for bar in &bars.workers {
                bar.finish_and_clear();
            }
            bars.grid.finish_and_clear();
        }
    }
}

impl Bars {
    fn show(&self, slot: usize, label: &str, stage_changed: bool, event: &Event) {
        let Some(bar) = self.workers.get(slot) else {
            return;
        };
        let worker = slot + 1;
        match event {
            Event::Started { pid, threads } => {
                let _ = self.multi.println(format!(
                    "worker {worker} (pid {pid}): {threads} libtorch thread(s)"
                ));
            }
            Event::Run {
                attempt, device, ..
            } => {
                bar.reset();
                bar.set_length(0);
                let retry = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                bar.set_message(format!("{label}{retry} on {device}"));
            }
            Event::Epoch {
                stage,
                epoch,
                epochs,
                values,
            } => {
                // A new stage restarts the bar, and with it the ETA estimate.
                if stage_changed {
                    bar.reset();
                }
                bar.set_length(u64::from(*epochs));
                bar.set_position(u64::from(*epoch));
                bar.set_message(run_line(label, stage, *epoch, *epochs, values));
            }
            Event::RunEnd { .. } => {
                bar.reset();
                bar.set_length(0);
                bar.set_message("idle");
            }
            Event::Note { message } => {
                let _ = self
                    .multi
                    .println(prefixed(slot, self.workers.len(), message));
            }
        }
    }
}

/// `worker 2: message` when there are several workers.
fn prefixed(slot: usize, workers: usize, message: &str) -> String {
    if workers > 1 {
        format!("worker {}: {message}", slot + 1)
    } else {
        message.to_string()
    }
}

fn log(slot: usize, workers: usize, label: &str, event: &Event) {
    let say = |message: &str| prefixed(slot, workers, message);
    match event {
        Event::Started { pid, threads } => tracing::info!(
            "worker {} (pid {pid}): {threads} libtorch thread(s)",
            slot + 1
        ),
        Event::Run {
            attempt, device, ..
        } => tracing::info!(
            "{}",
            say(&format!("{label} (attempt {attempt}) on {device}"))
        ),
        Event::Epoch {
            stage,
            epoch,
            epochs,
            values,
        } => tracing::debug!("{}", say(&run_line(label, stage, *epoch, *epochs, values))),
        Event::RunEnd { outcome } => tracing::info!("{}", say(&format!("{label}: {outcome}"))),
        Event::Note { message } => tracing::info!("{}", say(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_line_shows_the_joint_loss_else_far() {
        let values = |names: &[&str]| -> Vec<(String, f64)> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.to_string(), i as f64 + 0.5))
                .collect()
        };
        assert_eq!(
            run_line(
                "SPL-Net 10% seed 1",
                "stage1",
                3,
                5,
                &values(&["prt", "loss", "lr"])
            ),
            "SPL-Net 10% seed 1 · stage1 3/5 · loss 1.5000"
        );
        assert_eq!(
            run_line(
                "Baseline 50% seed 0",
                "stage2",
                1,
                2,
                &values(&["far", "lr"])
            ),
            "Baseline 50% seed 0 · stage2 1/2 · far 0.5000"
        );
        assert_eq!(
            run_line("x", "stage2", 1, 2, &values(&["lr"])),
            "x · stage2 1/2"
        );
    }

    #[test]
    fn events_travel_as_one_json_line_each() {
        let events = [
            Event::Started { pid: 7, threads: 2 },
            Event::Run {
                label: "SPL R 10% seed 0".into(),
                attempt: 2,
                device: "cpu".into(),
            },
            Event::Epoch {
                stage: "stage1".into(),
                epoch: 1,
                epochs: 3,
                values: vec![("loss".into(), 0.25)],
            },
            Event::RunEnd {
                outcome: "done".into(),
            },
            Event::Note {
                message: "a\nb".into(),
            },
        ];
        for event in events {
            let line = serde_json::to_string(&event).unwrap();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
        }
    }

    #[test]
    fn slots_follow_each_workers_run_and_stage() {
        let progress = Progress::hidden();
        let run = |label: &str| Event::Run {
            label: label.into(),
            attempt: 1,
            device: "cpu".into(),
        };
        let epoch = |stage: &str, epoch| Event::Epoch {
            stage: stage.into(),
            epoch,
            epochs: 2,
            values: Vec::new(),
        };
        assert_eq!(progress.track(0, &run("A")), ("A".into(), false));
        assert_eq!(progress.track(2, &run("C")), ("C".into(), false));
        assert_eq!(progress.track(0, &epoch("stage1", 1)), ("A".into(), true));
        assert_eq!(progress.track(0, &epoch("stage1", 2)), ("A".into(), false));
        assert_eq!(progress.track(2, &epoch("stage1", 1)), ("C".into(), true));
        assert_eq!(progress.track(0, &epoch("stage2", 1)), ("A".into(), true));
    }
}
