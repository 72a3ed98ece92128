//! The learning-rate schedule.
//!
//! Section 4.2 gives an initial learning rate of 1e-4 and then a warm-up
//! "from 1e-3 to 3.5e-3 in the first 15 epochs, then 1.5e-5 until the end",
//! which contradicts it (and would end 65 epochs at 0.4% of the peak). We
//! keep what the sentence can agree with: a linear warm-up over
//! `warmup_epochs` that starts at 1/3.5 of the peak (the sentence's ratio),
//! peaking at the stated initial rate, then that rate held to the end.

/// Ratio of the first warm-up rate to the peak (1e-3 / 3.5e-3 in the paper).
pub const WARMUP_START: f64 = 1.0 / 3.5;

/// The learning rate of `epoch` (counting from 0) for a peak of `peak`.
pub fn learning_rate(peak: f64, warmup_epochs: u32, epoch: u32) -> f64 {
    if epoch >= warmup_epochs {
        return peak;
    }
    let progress = f64::from(epoch) / f64::from(warmup_epochs);
    peak * (WARMUP_START + (1.0 - WARMUP_START) * progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_linearly_then_holds_the_peak() {
        let lr = |e| learning_rate(1e-4, 15, e);
        assert!((lr(0) - 1e-4 / 3.5).abs() < 1e-15);
        let steps: Vec<f64> = (0..15).map(|e| lr(e + 1) - lr(e)).collect();
        assert!(steps
            .iter()
            .all(|s| (s - steps[0]).abs() < 1e-15 && *s > 0.0));
        assert_eq!(lr(15), 1e-4);
        assert_eq!(lr(79), 1e-4);
    }

    #[test]
    fn no_warmup_starts_at_the_peak() {
        assert_eq!(learning_rate(3e-4, 0, 0), 3e-4);
    }
}
