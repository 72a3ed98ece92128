//! Who this worker is (host, process, code revision, libtorch) and whether
//! another worker on this host is still alive.

use crate::store::Worker;
use std::path::Path;
use std::process::Command;

/// This process as a worker. `device` is the device it trains on.
pub fn this_worker(device: &str) -> Worker {
    let host = host_name();
    let pid = std::process::id();
    let (git_revision, git_dirty) = git_revision();
    Worker {
        id: worker_id(&host, pid).unwrap_or_else(|| format!("{host}/{pid}")),
        host,
        pid,
        device: device.to_string(),
        git_revision,
        git_dirty,
        libtorch: option_env!("ABLATE_LIBTORCH_VERSION")
            .unwrap_or("unknown")
            .to_string(),
    }
}

/// True while the worker `id` (as [`this_worker`] wrote it) runs as `pid`
/// on this host. The process start time in the id tells a reused PID apart.
/// Without `/proc` it cannot tell, and says alive: the heartbeat timeout
/// then decides.
pub fn is_alive(pid: u32, id: &str) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    worker_id(&host_name(), pid).is_some_and(|current| current == id)
}

fn worker_id(host: &str, pid: u32) -> Option<String> {
    Some(format!("{host}/{pid}/{}", start_time(pid)?))
}

/// Field 22 of `/proc/PID/stat`: start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it do not.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// `git rev-parse HEAD` and whether tracked files differ from it.
fn git_revision() -> (String, bool) {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(revision) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            (revision, dirty)
        }
        None => ("unknown".into(), false),
    }
}
