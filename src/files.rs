//! Writing a file safely, whatever it holds: an exclusive lock beside the
//! target ([`TargetLock`]), the atomic replace through a temporary file,
//! fsync and rename ([`replace`], [`write_atomically`]), the removal of the
//! temporary files a killed run left, and the modes the files get. A leaf:
//! it knows nothing of reports, states or archives (cargo's
//! `cargo-util::paths` keeps the same things apart).

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the process is leaving (a second signal in loop mode): a lock
/// wait then ends at once instead of waiting out [`TargetLock::WAIT`].
static GIVING_UP: AtomicBool = AtomicBool::new(false);

/// Ends every lock wait, now and later, with an error: the process is
/// leaving and must not wait for another run's write.
pub fn give_up_waiting() {
    GIVING_UP.store(true, Ordering::SeqCst);
}

/// An exclusive advisory lock (`flock`) on a lock file beside a target,
/// `.NAME.lock`, held while the target is read and replaced. A lock file,
/// not the target (replaced by a rename, so a lock on it would guard an
/// inode nobody opens again) nor the directory (NFS cannot lock a
/// directory). It is never removed: removing a lock file races with the
/// next run that opens it. The kernel drops the lock when the process dies,
/// so a killed run leaves no lock behind.
#[derive(Debug)]
pub struct TargetLock {
    _file: std::fs::File,
}

impl TargetLock {
    /// How long to wait for another run to finish its write (less after
    /// [`give_up_waiting`]).
    pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    pub fn acquire(target: &Path) -> io::Result<TargetLock> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let (dir, name) = dir_and_name(target)?;
        let path = dir.join(format!(".{}.lock", name.to_string_lossy()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            // Another user's lock file: a read-only descriptor locks too.
            .or_else(|e| match e.kind() {
                io::ErrorKind::PermissionDenied => std::fs::File::open(&path),
                _ => Err(e),
            })?;
        let deadline = std::time::Instant::now() + Self::WAIT;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(TargetLock { _file: file }),
                Err(rustix::io::Errno::WOULDBLOCK) if GIVING_UP.load(Ordering::SeqCst) => {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        format!(
                            "gave up waiting for the lock {}, held by another process, at a second signal",
                            path.display()
                        ),
                    ))
                }
                Err(rustix::io::Errno::WOULDBLOCK) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "another process held the lock {} for over {}s",
                            path.display(),
                            Self::WAIT.as_secs()
                        ),
                    ))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn dir_and_name(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    Ok((dir, name))
}

/// The temporary files [`replace`] makes for `name`: `.NAME.XXXXXX.tmp`.
fn temporary_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.", name.to_string_lossy())
}

/// Removes what a run killed mid-write left beside `path`: its temporary
/// files, named as [`replace`] names them. Called under the target's lock,
/// which every writer holds while its temporary file exists, so none of
/// them is another run's write in flight.
fn remove_leftovers(path: &Path) -> io::Result<()> {
    let (dir, name) = dir_and_name(path)?;
    let prefix = temporary_prefix(name);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(middle) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        // tempfile's six random letters and digits.
        let ours = middle.len() == 6 && middle.bytes().all(|b| b.is_ascii_alphanumeric());
        if ours && entry.file_type()?.is_file() {
            tracing::info!(
                "removing {}, left by a run that was killed",
                entry.path().display()
            );
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Writes `path` through a temporary file in the same directory and a
/// rename, so readers (the textfile collector, whoever reads the report
/// file) never see a half-written file; the collector ignores the temporary
/// name, which does not end in `.prom`. Under the target's lock, so two runs
/// writing the same file do not remove each other's temporary file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let _lock = TargetLock::acquire(path)?;
    replace(path, bytes)
}

/// [`write_atomically`] for a caller that holds the target's lock: first
/// removes what a killed run left ([`remove_leftovers`]).
///
/// The temporary file has a random name and is created exclusively
/// (`O_EXCL`), so in a shared directory a planted symlink cannot make the
/// janitor truncate another file. It gets the target's mode, or 0644 (the
/// collector runs as another user), and file and directory are synced, so
/// the rename survives a crash.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_with(path, |w| w.write_all(bytes))
}

/// [`replace`], with the content written by `write` (through a buffer):
/// a large file is never held whole in memory.
pub(crate) fn replace_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    remove_leftovers(path)?;
    let (dir, name) = dir_and_name(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(name))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
    }
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Creates `path` empty with mode 0600 when it does not exist, so that the
/// replace that follows, which keeps the target's mode, keeps that one.
/// Empty is an empty state, should the replace not happen.
pub fn create_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_do_not_follow_a_planted_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The name the old code used, predictable from the pid.
        let planted = dir
            .path()
            .join(format!(".j.prom.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let target = dir.path().join("j.prom");
        write_atomically(&target, b"x 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x 1\n");
        // Readable by node_exporter, another user.
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // An existing file keeps its mode.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&target, b"x 2\n").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.ends_with(".tmp") && !n.starts_with(&format!(".j.prom.{}", std::process::id()))
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
