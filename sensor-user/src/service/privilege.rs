//! Least privilege for `sensor run --user NAME`.
//!
//! Attaching the XDP program and binding the `AF_XDP` sockets need root's
//! capabilities; nothing after that does: the program stays attached
//! through its link's descriptor, the maps and sockets are open
//! descriptors, and the kernel checks a map operation on a descriptor the
//! process already holds, not its capabilities. So once capture is set up,
//! before any thread is started, the process hands its log, spool and
//! extraction folders to the user, sets no-new-privileges, and switches to
//! the user's uid and gids, which clears every capability. Files it creates
//! afterwards are `0640` (umask `027`).

use std::ffi::CString;
use std::path::Path;

/// A user to switch to, looked up by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
}

/// Looks `name` up in the user database; one line naming the fix if it
/// does not exist.
pub fn lookup(name: &str) -> Result<Account, String> {
    let c = CString::new(name).map_err(|_| format!("--user {name:?}: not a user name"))?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 16384];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r with a valid name, record, buffer and result
    // pointer; the record's strings point into `buf`, which outlives use.
    let rc = unsafe {
        libc::getpwnam_r(
            c.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() {
        return Err(format!(
            "--user {name}: no such user (create it, e.g. `useradd --system --no-create-home {name}`)"
        ));
    }
    Ok(Account {
        name: name.to_string(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

/// Files created from now on are readable by owner and group only.
pub fn restrict_umask() {
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(0o027) };
}

/// Gives `dirs` (each with what it holds, one level deep) to `who`, so
/// that the process can go on writing there once it is `who`.
pub fn hand_over(dirs: &[&Path], who: &Account) -> Result<(), String> {
    for dir in dirs {
        if !dir.exists() {
            continue;
        }
        chown(dir, who)?;
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
            if !is_link {
                chown(&e.path(), who)?;
            }
        }
    }
    Ok(())
}

fn chown(path: &Path, who: &Account) -> Result<(), String> {
    std::os::unix::fs::lchown(path, Some(who.uid), Some(who.gid)).map_err(|e| {
        format!(
            "cannot give {} to user {}: {e} (check the file system allows it)",
            path.display(),
            who.name
        )
    })
}

/// Becomes `who`: supplementary groups, gid, uid (every thread; every
/// capability goes), and no new privileges from then on. Must run before
/// other threads start.
pub fn switch_to(who: &Account) -> Result<(), String> {
    let fail = |what: &str| {
        format!(
            "cannot switch to user {}: {what}: {} (run as root, or leave --user out)",
            who.name,
            std::io::Error::last_os_error()
        )
    };
    let name = CString::new(who.name.as_str()).map_err(|_| fail("bad name"))?;
    // SAFETY: plain system calls with valid arguments; glibc applies the
    // id changes to every thread.
    unsafe {
        if libc::initgroups(name.as_ptr(), who.gid) != 0 {
            return Err(fail("initgroups"));
        }
        if libc::setresgid(who.gid, who.gid, who.gid) != 0 {
            return Err(fail("setresgid"));
        }
        if libc::setresuid(who.uid, who.uid, who.uid) != 0 {
            return Err(fail("setresuid"));
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(fail("no_new_privs"));
        }
    }
    // Getting root back must be impossible now.
    // SAFETY: as above.
    if who.uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(format!(
            "switched to user {} but could regain root",
            who.name
        ));
    }
    Ok(())
}

/// The effective capabilities of this process (`CapEff` of its status).
pub fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_looked_up_and_unknown_ones_named() {
        let root = lookup("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        let e = lookup("no-such-user-xyz").unwrap_err();
        assert!(e.contains("no such user") && e.contains("useradd"), "{e}");
    }
}
