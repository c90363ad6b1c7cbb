//! Child processes of the harness: waiting for one with a deadline (killing it when the
//! deadline passes), sending it a signal, and reading the CPU time it has used. The one
//! implementation behind [`crate::cli::run_with`], [`crate::CardSim`]'s stop and kill,
//! and [`crate::sm::Traced`].

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often a wait looks at the child again.
const POLL: Duration = Duration::from_millis(5);

/// Waits until `child` exits or `deadline` passes; then SIGKILL and reap. Returns the
/// exit status (`None` when it could not be read) and whether the deadline struck.
pub fn wait_until(child: &mut Child, deadline: Instant) -> (Option<ExitStatus>, bool) {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return (Some(s), false),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                return (child.wait().ok(), true);
            }
            Err(_) => return (None, false),
        }
    }
}

/// Sends `sig` to `child`, which must not have been reaped yet (so its PID cannot have
/// been reused).
pub fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on the PID of our own child, not reaped yet (so not recycled).
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Field `n` (numbered as in proc(5), from 1) of `/proc/PID/stat`.
pub fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from the
    // field after it (field 3, the state).
    let rest = stat.rsplit_once(") ")?.1;
    rest.split_whitespace()
        .nth(n.checked_sub(3)?)
        .map(str::to_string)
}

/// The CPU time (user + system, all threads) process `pid` has used so far (proc(5):
/// fields 14 `utime` and 15 `stime`, in clock ticks).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let utime: u64 = stat_field(pid, 14)?.parse().ok()?;
    let stime: u64 = stat_field(pid, 15)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_child_past_its_deadline_is_killed_and_reaped() {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        let (status, timed_out) = wait_until(&mut child, Instant::now());
        assert!(timed_out);
        assert!(status.is_some_and(|s| !s.success()));
    }

    #[test]
    fn a_quick_child_is_waited_for() {
        let mut child = Command::new("true").spawn().unwrap();
        let (status, timed_out) = wait_until(&mut child, Instant::now() + Duration::from_secs(10));
        assert!(!timed_out);
        assert!(status.is_some_and(|s| s.success()));
    }

    #[test]
    fn cpu_time_grows_while_working() {
        let me = std::process::id();
        let before = cpu_time(me).unwrap();
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(100) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(cpu_time(me).unwrap() > before);
    }

    #[test]
    fn stat_fields_count_from_one() {
        let me = std::process::id();
        assert_eq!(stat_field(me, 1), None, "field 1 (pid) is before the name");
        assert_eq!(
            stat_field(me, 4),
            Some(std::os::unix::process::parent_id().to_string())
        );
    }
}
