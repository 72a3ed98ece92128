//! Progress bars: the whole grid and the run in hand (epoch, loss, ETA).
//! Hidden when stderr is not a terminal or `CI` is set; notes then go to
//! the log instead.

use crate::store::Store;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

#[derive(Clone)]
pub struct Progress {
    inner: Option<Arc<Bars>>,
}

struct Bars {
    multi: MultiProgress,
    grid: ProgressBar,
    run: ProgressBar,
}

impl Progress {
    /// Bars for a grid of `total` runs, if stderr is a terminal outside CI.
    pub fn new(total: u64, show: bool) -> Progress {
        let visible = show && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        if !visible {
            return Progress::hidden();
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let grid = multi.add(ProgressBar::new(total));
        grid.set_style(
            ProgressStyle::with_template("grid {bar:30} {pos}/{len} runs  {elapsed} (ETA {eta})")
                .expect("valid template"),
        );
        let run = multi.add(ProgressBar::new(0));
        run.set_style(
            ProgressStyle::with_template("{prefix} {bar:20} {msg} (ETA {eta})")
                .expect("valid template"),
        );
        Progress {
            inner: Some(Arc::new(Bars { multi, grid, run })),
        }
    }

    pub fn hidden() -> Progress {
        Progress { inner: None }
    }

    pub fn note(&self, message: &str) {
        match &self.inner {
            Some(bars) => {
                let _ = bars.multi.println(message);
            }
            None => tracing::info!("{message}"),
        }
    }

    pub fn start_run(&self, label: &str, attempt: u32) {
        if let Some(bars) = &self.inner {
            let retry = if attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            bars.run.reset();
            bars.run.set_prefix(format!("{label}{retry}"));
            bars.run.set_message("");
        }
    }

    pub fn epoch(&self, stage: &str, epoch: u32, epochs: u32, values: &[(&str, f64)]) {
        if let Some(bars) = &self.inner {
            bars.run.set_length(u64::from(epochs));
            bars.run.set_position(u64::from(epoch));
            let shown: Vec<String> = values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            bars.run.set_message(format!(
                "{stage} epoch {epoch}/{epochs} {}",
                shown.join(" ")
            ));
        }
    }

    pub fn end_run(&self) {
        if let Some(bars) = &self.inner {
            bars.run.set_message("");
        }
    }

    /// Moves the grid bar to the runs that are done or failed for good.
    pub async fn set_finished(&self, store: &Store, experiment: Option<&str>) {
        let (Some(bars), Some(experiment)) = (&self.inner, experiment) else {
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
        if let Some(bars) = &self.inner {
            bars.run.finish_and_clear();
            bars.grid.finish_and_clear();
        }
    }
}
