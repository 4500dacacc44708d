//! With `--archive`: each group's JSON as the scan read it, kept until the
//! plan says which groups go (only then is it known what to archive).
//!
//! Held in a temporary file, not in memory: the document can be hundreds
//! of megabytes, and the scan's memory must not grow with it. The file is
//! created in the archive directory (unlinked at once where the system
//! allows, mode 0600 anyway), so the groups' contents stay where the
//! archive's protection is. A group parsed in the window is copied whole;
//! a group too large for the window is written family by family as it
//! streams past ([`Spool::begin`], [`Spool::piece`], [`Spool::end`]), each
//! family in memory only while it is read.
//!
//! A write that fails (a full disk) loses every group: none of them can be
//! archived, so none is deleted. The scan itself goes on.

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// Where one group's JSON is in the spool file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spooled {
    offset: u64,
    len: u64,
}

/// The temporary file the groups are written to during a scan.
#[derive(Debug)]
pub struct Spool {
    out: Option<BufWriter<File>>,
    len: u64,
    error: Option<String>,
    /// Where the group being streamed started.
    started: Option<u64>,
    /// The group read last, until its entry takes it.
    last: Option<Spooled>,
    /// Per entry of the document, in order.
    index: Vec<Option<Spooled>>,
}

impl Spool {
    /// A spool writing to `file` (a new, empty temporary file).
    pub fn new(file: File) -> Spool {
        Spool {
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            len: 0,
            error: None,
            started: None,
            last: None,
            index: Vec::new(),
        }
    }

    /// A spool that keeps nothing: `why` the file could not be made.
    pub fn failed(why: String) -> Spool {
        Spool {
            error: Some(why),
            ..Spool::new_empty()
        }
    }

    fn new_empty() -> Spool {
        Spool {
            out: None,
            len: 0,
            error: None,
            started: None,
            last: None,
            index: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(out) = &mut self.out else {
            return;
        };
        match out.write_all(bytes) {
            Ok(()) => self.len += bytes.len() as u64,
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, e: io::Error) {
        self.error = Some(format!("the scan could not keep the groups' JSON: {e}"));
        self.out = None;
    }

    /// One whole group, parsed in the window.
    pub(super) fn whole(&mut self, bytes: &[u8]) {
        let offset = self.len;
        self.write(bytes);
        self.last = Some(Spooled {
            offset,
            len: self.len - offset,
        });
    }

    /// A group streamed past, in pieces: its start.
    pub(super) fn begin(&mut self) {
        self.started = Some(self.len);
        self.write(b"{");
    }

    pub(super) fn piece(&mut self, bytes: &[u8]) {
        self.write(bytes);
    }

    /// The end of a streamed group.
    pub(super) fn end(&mut self) {
        self.write(b"}");
        if let Some(offset) = self.started.take() {
            self.last = Some(Spooled {
                offset,
                len: self.len - offset,
            });
        }
    }

    /// Before an entry of the document is read.
    pub(super) fn next_entry(&mut self) {
        self.last = None;
        self.started = None;
    }

    /// After an entry was read: whatever was kept of it.
    pub(super) fn entry_read(&mut self) {
        let last = self.last.take();
        self.index.push(last);
    }

    /// The groups kept, to be read back by entry.
    pub fn finish(mut self) -> RawGroups {
        let file = match self.out.take().map(BufWriter::into_inner) {
            Some(Ok(file)) => Some(file),
            Some(Err(e)) => {
                self.fail(e.into_error());
                None
            }
            None => None,
        };
        RawGroups {
            file,
            index: self.index,
            error: self.error,
        }
    }
}

/// Every group's JSON as the scan read it, by its entry's place in the
/// scan.
#[derive(Debug)]
pub struct RawGroups {
    file: Option<File>,
    index: Vec<Option<Spooled>>,
    error: Option<String>,
}

impl RawGroups {
    /// Nothing kept, and why.
    pub fn none(why: String) -> RawGroups {
        RawGroups {
            file: None,
            index: Vec::new(),
            error: Some(why),
        }
    }

    /// How many entries the scan had.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The JSON of entry `at`, as the gateway sent it.
    pub fn read(&self, at: usize) -> Result<Vec<u8>, String> {
        use std::os::unix::fs::FileExt as _;
        if let Some(why) = &self.error {
            return Err(why.clone());
        }
        let (Some(file), Some(Some(spooled))) = (&self.file, self.index.get(at)) else {
            return Err("the scan kept no copy of it".into());
        };
        let mut bytes = vec![0; spooled.len as usize];
        file.read_exact_at(&mut bytes, spooled.offset)
            .map_err(|e| format!("could not read back its JSON as the scan kept it: {e}"))?;
        Ok(bytes)
    }
}
