//! The open-file limit. Every client and upstream connection is a file
//! descriptor; the usual soft limit (1,024) would cap the proxy far below
//! what the host allows, so the soft limit is raised to the hard one at
//! start, as nginx does with `worker_rlimit_nofile` and Kong with
//! `ulimit -n` in its start script.

use rlimit::Resource;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs the result.
/// Failure is logged, not fatal: the process still works with fewer files.
pub fn raise_fd_limit() {
    let (soft, hard) = match Resource::NOFILE.get() {
        Ok(limits) => limits,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open-file limit");
            return;
        }
    };
    if soft >= hard {
        tracing::info!(limit = soft, "open-file limit already at the hard limit");
        return;
    }
    match rlimit::increase_nofile_limit(hard) {
        Ok(raised) => tracing::info!(from = soft, to = raised, "raised the open-file limit"),
        Err(error) => {
            tracing::warn!(%error, limit = soft, "cannot raise the open-file limit")
        }
    }
}
