//! "Lower this thread's scheduling priority": indexing may use every core, but the machine (and a query in
//! the app) must stay responsive, so the threads that index ask the OS to run them after everything else.
//!
//! - Linux: `setpriority(PRIO_PROCESS, tid, 10)`, which on Linux applies to the one thread `tid` (nice 10).
//!   Threads a thread creates inherit its nice value, which is how ONNX Runtime's intra-op pool (created
//!   when the indexing session is built on the lowered thread) runs low too.
//! - macOS: the thread's QoS class becomes `QOS_CLASS_UTILITY` (`pthread_set_qos_class_self_np`).
//! - Windows: `SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL)`.
//! - Elsewhere: nothing (an `Unsupported` error the caller may log).
//!
//! A lowered thread cannot raise itself back without privileges: call this only on a thread that does
//! nothing but background work (see `Engine::index`, which runs the pass on a thread of its own).

/// The nice value indexing threads get on Linux.
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority for background work (see the module docs).
pub fn lower_current_thread() -> std::io::Result<()> {
    imp::lower()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    pub fn lower() -> std::io::Result<()> {
        // SAFETY: gettid has no preconditions; setpriority only reads its arguments.
        let rc = unsafe {
            let tid = libc::gettid();
            libc::setpriority(
                libc::PRIO_PROCESS,
                tid as libc::id_t,
                super::BACKGROUND_NICE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

#[cfg(target_os = "macos")]
mod imp {
    pub fn lower() -> std::io::Result<()> {
        // SAFETY: sets the calling thread's own QoS class; no pointers involved.
        let rc =
            unsafe { libc::pthread_set_qos_class_self_np(libc::qos_class_t::QOS_CLASS_UTILITY, 0) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::from_raw_os_error(rc))
        }
    }
}

#[cfg(windows)]
mod imp {
    pub fn lower() -> std::io::Result<()> {
        use windows_sys::Win32::System::Threading::{
            GetCurrentThread, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
        };
        // SAFETY: GetCurrentThread returns a pseudo handle that needs no closing.
        let ok = unsafe { SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL) };
        if ok != 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
)))]
mod imp {
    pub fn lower() -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "thread priorities are not supported on this system",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The nice value of thread `tid` of this process, from `/proc/self/task/<tid>/stat` (field 19).
    fn nice_of(tid: i32) -> i32 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
        // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn lowers_only_the_calling_thread_and_its_children() {
        let main_tid = unsafe { libc::gettid() };
        let before = nice_of(main_tid);
        let (lowered, child, main_after) = std::thread::spawn(move || {
            super::lower_current_thread().unwrap();
            let me = unsafe { libc::gettid() };
            let child = std::thread::spawn(|| nice_of(unsafe { libc::gettid() }))
                .join()
                .unwrap();
            (nice_of(me), child, nice_of(main_tid))
        })
        .join()
        .unwrap();
        assert_eq!(lowered, before.max(super::BACKGROUND_NICE));
        assert_eq!(
            child, lowered,
            "a thread started by a lowered thread inherits its priority"
        );
        assert_eq!(main_after, before, "the other threads keep theirs");
    }
}
