//! The statistics the reports rest on: summaries over seeds, paired tests
//! between variants on runs that share seed and labeled subset, Holm's
//! correction across variants, Kendall's τ between two rankings, and the
//! Pearson correlations between attributes of the paper's Fig. 7.

/// Arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (n − 1); `None` below two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// The outcome of a two-sided paired test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    /// The test statistic (t for Student, W+ for Wilcoxon).
    pub statistic: f64,
    pub p_value: f64,
    /// Pairs used (Wilcoxon drops zero differences).
    pub pairs: usize,
}

/// `a - b` by position, snapped to a grid far finer than any measured
/// difference (returned too), so that differences equal up to float rounding
/// are equal: accuracies are fractions of a count, and their float spread is
/// noise, not evidence.
fn paired_differences(a: &[f64], b: &[f64]) -> (Vec<f64>, f64) {
    assert_eq!(a.len(), b.len(), "paired samples have equal length");
    let grid = 1e-9 * a.iter().chain(b).fold(1.0f64, |s, v| s.max(v.abs()));
    let diffs = a
        .iter()
        .zip(b)
        .map(|(x, y)| ((x - y) / grid).round() * grid);
    (diffs.collect(), grid)
}

/// Two-sided paired Student t-test of `a` against `b` (same length, paired
/// by position). `None` below two pairs; identical samples give p = 1.
pub fn paired_t_test(a: &[f64], b: &[f64]) -> Option<PairedTest> {
    let (diffs, grid) = paired_differences(a, b);
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let m = mean(&diffs)?;
    let m = if m.abs() <= grid { 0.0 } else { m };
    let sd = sample_std(&diffs)?;
    if sd <= grid {
        let p_value = if m == 0.0 { 1.0 } else { 0.0 };
        let statistic = if m == 0.0 {
            0.0
        } else {
            m.signum() * f64::INFINITY
        };
        return Some(PairedTest {
            statistic,
            p_value,
            pairs: n,
        });
    }
    let t = m / (sd / (n as f64).sqrt());
    let df = (n - 1) as f64;
    let p_value = regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    Some(PairedTest {
        statistic: t,
        p_value: p_value.clamp(0.0, 1.0),
        pairs: n,
    })
}

/// Two-sided Wilcoxon signed-rank test of `a` against `b`. Zero differences
/// are dropped; up to 25 pairs the exact distribution over the observed
/// (possibly tied) ranks, else the normal approximation with tie correction.
/// `None` when no pair differs.
pub fn wilcoxon_signed_rank(a: &[f64], b: &[f64]) -> Option<PairedTest> {
    let (mut diffs, _) = paired_differences(a, b);
    diffs.retain(|d| *d != 0.0);
    let n = diffs.len();
    if n == 0 {
        return None;
    }
    let magnitudes: Vec<f64> = diffs.iter().map(|d| d.abs()).collect();
    let ranks = average_ranks(&magnitudes);
    let w_plus: f64 = diffs
        .iter()
        .zip(&ranks)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| r)
        .sum();
    let p_value = if n <= 25 {
        exact_signed_rank_p(&ranks, w_plus)
    } else {
        let nf = n as f64;
        let expected = nf * (nf + 1.0) / 4.0;
        let tie_term: f64 = tie_groups(&magnitudes)
            .into_iter()
            .map(|t| (t.powi(3) - t) / 48.0)
            .sum();
        let variance = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term;
        if variance <= 0.0 {
            1.0
        } else {
            // Continuity correction towards the mean.
            let z = ((w_plus - expected).abs() - 0.5).max(0.0) / variance.sqrt();
            2.0 * (1.0 - standard_normal_cdf(z))
        }
    };
    Some(PairedTest {
        statistic: w_plus,
        p_value: p_value.clamp(0.0, 1.0),
        pairs: n,
    })
}

/// Ranks 1..=n of `values`, ties sharing their average rank.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

/// Sizes of groups of equal values (only groups larger than one matter).
fn tie_groups(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .chunk_by(|a, b| a == b)
        .map(|group| group.len() as f64)
        .filter(|&len| len > 1.0)
        .collect()
}

/// Exact two-sided p of W+ given the ranks (average ranks where tied):
/// counts the 2^n sign patterns by their rank sums, in half-rank units.
fn exact_signed_rank_p(ranks: &[f64], w_plus: f64) -> f64 {
    let weights: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
    let max_sum: usize = weights.iter().sum();
    let mut counts = vec![0f64; max_sum + 1];
    counts[0] = 1.0;
    for &weight in &weights {
        for sum in (weight..=max_sum).rev() {
            counts[sum] += counts[sum - weight];
        }
    }
    let total = 2f64.powi(ranks.len() as i32);
    let w = ((2.0 * w_plus).round() as usize).min(max_sum);
    let lower: f64 = counts[..=w].iter().sum::<f64>() / total;
    let upper: f64 = counts[w..].iter().sum::<f64>() / total;
    (2.0 * lower.min(upper)).min(1.0)
}

/// Holm–Bonferroni adjusted p-values, in the input order.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; m];
    let mut running_max: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let value = ((m - rank) as f64 * p_values[i]).min(1.0);
        running_max = running_max.max(value);
        adjusted[i] = running_max;
    }
    adjusted
}

/// Kendall's τ-b between two paired score lists (ties handled). `None` when
/// either list is constant or there are fewer than two items.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len(), "paired lists have equal length");
    let n = x.len();
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = (x[i] - x[j]).partial_cmp(&0.0)?;
            let dy = (y[i] - y[j]).partial_cmp(&0.0)?;
            use std::cmp::Ordering::Equal;
            match (dx, dy) {
                (Equal, Equal) => {}
                (Equal, _) => ties_x += 1,
                (_, Equal) => ties_y += 1,
                (a, b) if a == b => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let denominator =
        (((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) as f64).sqrt();
    (denominator > 0.0).then(|| (concordant - discordant) as f64 / denominator)
}

/// Pearson correlations between the `columns` variables of `rows`
/// observations, row-major `columns × columns`. `value(row, column)` is
/// `None` for a missing observation; each pair uses the rows where both are
/// present. A pair is `None` (undefined) when either variable is constant
/// over those rows or fewer than two rows remain.
pub fn pearson_matrix(
    rows: usize,
    columns: usize,
    value: impl Fn(usize, usize) -> Option<f64>,
) -> Vec<Option<f64>> {
    let data: Vec<Option<f64>> = (0..rows)
        .flat_map(|r| (0..columns).map(move |c| (r, c)))
        .map(|(r, c)| value(r, c).filter(|v| v.is_finite()))
        .collect();
    let mut matrix = vec![None; columns * columns];
    for i in 0..columns {
        for j in i..columns {
            let pairs =
                (0..rows).filter_map(|r| Some((data[r * columns + i]?, data[r * columns + j]?)));
            let r = pearson(pairs);
            matrix[i * columns + j] = r;
            matrix[j * columns + i] = r;
        }
    }
    matrix
}

/// Pearson's r of paired samples (two passes over means for stability).
fn pearson(pairs: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let (n, sum_x, sum_y) = pairs.clone().fold((0usize, 0.0, 0.0), |(n, x, y), (a, b)| {
        (n + 1, x + a, y + b)
    });
    if n < 2 {
        return None;
    }
    let (mean_x, mean_y) = (sum_x / n as f64, sum_y / n as f64);
    let (sxy, sxx, syy) = pairs.fold((0.0, 0.0, 0.0), |(xy, xx, yy), (a, b)| {
        let (dx, dy) = (a - mean_x, b - mean_y);
        (xy + dx * dy, xx + dx * dx, yy + dy * dy)
    });
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Mean absolute difference between two square matrices over the
/// off-diagonal pairs (each counted once) defined in both; `None` when none is.
pub fn mean_abs_off_diagonal(a: &[Option<f64>], b: &[Option<f64>], size: usize) -> Option<f64> {
    let differences: Vec<f64> = (0..size)
        .flat_map(|i| (i + 1..size).map(move |j| i * size + j))
        .filter_map(|k| Some((a.get(k).copied()?? - b.get(k).copied()??).abs()))
        .collect();
    mean(&differences)
}

fn standard_normal_cdf(z: f64) -> f64 {
    0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
}

/// erf with an absolute error below 1.2e-7 (Numerical Recipes' erfc
/// Chebyshev fit), plenty for p-values printed to three digits.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFICIENTS[0];
    for (i, c) in COEFFICIENTS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued
/// fraction (modified Lentz), using the symmetry for fast convergence.
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        for numerator in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + numerator * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + numerator / c;
            c = if c.abs() < TINY { TINY } else { c };
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn summaries() {
        assert_eq!(mean(&[]), None);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(sample_std(&[5.0]), None);
        assert!(close(
            sample_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap(),
            2.138_089_935,
            1e-9
        ));
    }

    #[test]
    fn student_t_matches_tabulated_critical_values() {
        // Two-sided critical values of Student's t: p = 0.05 at the tabulated t.
        for (df, t) in [
            (1usize, 12.706),
            (2, 4.303),
            (5, 2.571),
            (10, 2.228),
            (30, 2.042),
        ] {
            let p =
                regularized_incomplete_beta(df as f64 / (df as f64 + t * t), df as f64 / 2.0, 0.5);
            assert!(close(p, 0.05, 5e-4), "df {df}: p {p}");
        }
    }

    #[test]
    fn paired_t_test_on_a_textbook_example() {
        // Differences 1, 2, 3, 4, 5: mean 3, sd 1.5811, t = 4.2426 with 4 df, p = 0.01324.
        let a = [2.0, 4.0, 6.0, 8.0, 10.0];
        let b = [1.0, 2.0, 3.0, 4.0, 5.0];
        let test = paired_t_test(&a, &b).unwrap();
        assert!(close(test.statistic, 4.242_640_687, 1e-6));
        assert!(close(test.p_value, 0.013_24, 1e-4), "{}", test.p_value);
        assert_eq!(paired_t_test(&a, &a).unwrap().p_value, 1.0);
        assert_eq!(paired_t_test(&[1.0], &[2.0]), None);
    }

    #[test]
    fn differences_equal_up_to_rounding_have_no_spread() {
        // Both seeds lose 0.5 points; in floats the two differences are
        // -0.4999999999999858 and -0.5, a spread of rounding only.
        let (a, b) = ([77.35000000000001, 76.9875], [77.85, 77.4875]);
        assert!(sample_std(&[a[0] - b[0], a[1] - b[1]]).unwrap() > 0.0);
        let test = paired_t_test(&a, &b).unwrap();
        assert_eq!((test.p_value, test.statistic), (0.0, f64::NEG_INFINITY));
        // For the signed-rank test they tie: each takes the average rank 1.5.
        assert_eq!(wilcoxon_signed_rank(&a, &b).unwrap().statistic, 0.0);
        let (c, d) = ([77.35000000000001, 77.4875], [77.85, 76.9875]);
        assert_eq!(wilcoxon_signed_rank(&c, &d).unwrap().statistic, 1.5);
    }

    #[test]
    fn wilcoxon_exact_and_approximate() {
        // All 6 differences positive: W+ = 21, exact two-sided p = 2/64.
        let a = [2.0, 3.0, 4.0, 5.0, 6.0, 7.5];
        let b = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let test = wilcoxon_signed_rank(&a, &b).unwrap();
        assert_eq!(test.statistic, 21.0);
        assert!(close(test.p_value, 0.031_25, 1e-12));
        // Mixed signs, n = 8 without ties: W+ = 4 + 5 + 6 + 7 + 8 = 30 → p = 2·P(W ≤ 6) = 28/256.
        let d = [-1.0, -2.0, -3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let zeros = [0.0; 8];
        let test = wilcoxon_signed_rank(&d, &zeros).unwrap();
        assert_eq!(test.statistic, 30.0);
        assert!(close(test.p_value, 28.0 / 256.0, 1e-12), "{}", test.p_value);
        // Ties are exact too, over the tied ranks: |d| = 1, 1, 2, 1 rank
        // 2, 2, 4, 2 and W+ = 8; 4 of the 16 sign patterns reach 8 or more.
        let tied = wilcoxon_signed_rank(&[1.0, 1.0, 2.0, -1.0], &[0.0; 4]).unwrap();
        assert_eq!((tied.statistic, tied.p_value), (8.0, 0.5));
        // Above 25 pairs: the normal approximation, with its tie correction.
        let many: Vec<f64> = (1..=30).map(|i| f64::from(i % 7) - 2.5).collect();
        let approximate = wilcoxon_signed_rank(&many, &[0.0; 30]).unwrap();
        assert!((0.0..=1.0).contains(&approximate.p_value));
        assert_eq!(wilcoxon_signed_rank(&[1.0, 2.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn holm_adjusts_in_input_order_and_stays_monotone() {
        let adjusted = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(holm_adjust(&[0.9, 0.8]), vec![1.0, 1.0]);
    }

    #[test]
    fn kendall_tau_b_with_and_without_ties() {
        assert_eq!(
            kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]),
            Some(1.0)
        );
        assert_eq!(
            kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]),
            Some(-1.0)
        );
        // C = 4, D = 1, one tie in y: τ-b = 3 / sqrt(6 · 5).
        let tau = kendall_tau_b(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 3.0]).unwrap();
        assert!(close(tau, 3.0 / 30f64.sqrt(), 1e-12), "{tau}");
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn pearson_matrix_with_missing_values_and_a_constant_variable() {
        // Columns: x, 2x + 1 (r = 1), -x with one value missing (r = -1 on
        // the rows both have), a constant (undefined).
        let data = [
            [Some(1.0), Some(3.0), Some(-1.0), Some(0.5)],
            [Some(2.0), Some(5.0), None, Some(0.5)],
            [Some(4.0), Some(9.0), Some(-4.0), Some(0.5)],
            [Some(7.0), Some(15.0), Some(-7.0), Some(0.5)],
        ];
        let m = pearson_matrix(4, 4, |r, c| data[r][c]);
        let at = |i: usize, j: usize| m[i * 4 + j];
        assert!(close(at(0, 1).unwrap(), 1.0, 1e-12));
        assert!(close(at(0, 2).unwrap(), -1.0, 1e-12));
        assert_eq!(at(1, 0), at(0, 1), "symmetric");
        assert_eq!(at(0, 0), Some(1.0));
        for i in 0..4 {
            assert_eq!(
                at(3, i),
                None,
                "a constant variable correlates with nothing"
            );
        }
        // A textbook value: r of (1,2,3,4,5) and (2,4,5,4,5) = 0.7745967.
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        let m = pearson_matrix(5, 2, |r, c| {
            Some(if c == 0 { r as f64 + 1.0 } else { y[r] })
        });
        assert!(close(m[1].unwrap(), 0.774_596_669, 1e-9), "{:?}", m[1]);
        assert_eq!(pearson_matrix(1, 2, |_, c| Some(c as f64))[1], None);
    }

    #[test]
    fn distance_between_correlation_matrices_skips_undefined_pairs() {
        let a = [
            Some(1.0),
            Some(0.5),
            None,
            Some(0.5),
            Some(1.0),
            Some(-0.2),
            None,
            Some(-0.2),
            Some(1.0),
        ];
        let b = [
            Some(1.0),
            Some(0.1),
            Some(0.3),
            Some(0.1),
            Some(1.0),
            Some(0.2),
            Some(0.3),
            Some(0.2),
            Some(1.0),
        ];
        // Pairs (0,1): 0.4, (0,2): undefined in a, (1,2): 0.4.
        assert!(close(mean_abs_off_diagonal(&a, &b, 3).unwrap(), 0.4, 1e-12));
        assert_eq!(mean_abs_off_diagonal(&[None; 4], &[None; 4], 2), None);
    }
}
