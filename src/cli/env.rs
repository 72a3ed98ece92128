//! `ablate env`: what this binary links and sees (libtorch, CUDA, threads).

use super::GlobalArgs;
use ablate::device::describe;

pub fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let device = global.device.resolve()?;
    println!("ablate {}", env!("CARGO_PKG_VERSION"));
    println!("tch 0.24.0, libtorch {}", libtorch_version());
    println!("cuda available: {}", tch::Cuda::is_available());
    println!("cuda devices: {}", tch::Cuda::device_count());
    println!("cudnn available: {}", tch::Cuda::cudnn_is_available());
    println!("cpu threads: {}", tch::get_num_threads());
    println!("selected device: {}", describe(device));
    Ok(())
}

/// tch exposes no libtorch version; build.rs records the one it linked.
fn libtorch_version() -> &'static str {
    option_env!("ABLATE_LIBTORCH_VERSION").unwrap_or("unknown")
}
