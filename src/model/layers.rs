//! The layers every component is made of, each knowing its own checkpoint
//! path so that a forward pass can be metered: inside [`count_macs`] every
//! convolution, linear layer and attention product adds its multiply-adds,
//! computed from the real shapes it sees, under its module path.

use std::cell::RefCell;
use std::collections::BTreeMap;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

thread_local! {
    static METER: RefCell<Option<BTreeMap<String, u64>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns what it produced with the multiply-adds of every
/// metered layer it ran, by module path.
pub fn count_macs<T>(f: impl FnOnce() -> T) -> (T, BTreeMap<String, u64>) {
    METER.with(|m| *m.borrow_mut() = Some(BTreeMap::new()));
    let out = f();
    let counts = METER.with(|m| m.borrow_mut().take()).unwrap_or_default();
    (out, counts)
}

/// Adds `macs` under `name` when a meter is running.
pub fn record(name: &str, macs: i64) {
    METER.with(|m| {
        if let Some(counts) = m.borrow_mut().as_mut() {
            *counts.entry(name.to_string()).or_default() += macs.max(0) as u64;
        }
    });
}

/// The checkpoint path of `p` (`mss.tb.stage1.block0.conv1`).
pub fn path_name(p: &nn::Path) -> String {
    p.components().collect::<Vec<_>>().join(".")
}

/// A 2-D convolution whose cost is metered.
#[derive(Debug)]
pub struct Conv {
    conv: nn::Conv2D,
    name: String,
    macs_per_output: i64,
}

impl Conv {
    /// `k`×`k` kernel, "same" padding, no bias (a batch norm follows).
    pub fn new(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> Conv {
        Conv::with_bias(p, c_in, c_out, k, stride, false)
    }

    pub fn with_bias(p: nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64, bias: bool) -> Conv {
        let config = nn::ConvConfig {
            stride,
            padding: k / 2,
            bias,
            ..Default::default()
        };
        Conv {
            name: path_name(&p),
            conv: nn::conv2d(&p, c_in, c_out, k, config),
            macs_per_output: c_in * k * k,
        }
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Tensor {
        let y = self.conv.forward(x);
        record(&self.name, y.numel() as i64 * self.macs_per_output);
        y
    }
}

/// A fully-connected layer whose cost is metered.
#[derive(Debug)]
pub struct Linear {
    linear: nn::Linear,
    name: String,
    c_in: i64,
}

impl Linear {
    pub fn new(p: nn::Path, c_in: i64, c_out: i64) -> Linear {
        Linear {
            name: path_name(&p),
            linear: nn::linear(&p, c_in, c_out, Default::default()),
            c_in,
        }
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        let y = self.linear.forward(x);
        record(&self.name, y.numel() as i64 * self.c_in);
        y
    }
}

/// Convolution followed by batch norm, the unit most blocks are made of.
#[derive(Debug)]
pub struct ConvBn {
    conv: Conv,
    bn: nn::BatchNorm,
}

impl ConvBn {
    pub fn new(p: &nn::Path, c_in: i64, c_out: i64, k: i64, stride: i64) -> ConvBn {
        ConvBn {
            conv: Conv::new(p / "conv", c_in, c_out, k, stride),
            bn: nn::batch_norm2d(p / "bn", c_out, Default::default()),
        }
    }
}

impl ModuleT for ConvBn {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.conv.forward(x).apply_t(&self.bn, train)
    }
}

/// Global average pooling to `[N, C]`.
pub fn gap(x: &Tensor) -> Tensor {
    x.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
}
