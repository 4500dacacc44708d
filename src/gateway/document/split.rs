//! The fast path of [`read_document`](super::read_document).
//!
//! serde_json reading from an `io::Read` goes through its input one byte at a
//! time (about 200 MB/s here), while parsing a slice skips strings in bulk
//! (about 700 MB/s). A document is almost all groups, so this reader sits
//! between the response and serde_json: it finds each object in the
//! top-level `data` array by counting brackets outside strings, keeps its
//! bytes in one reusable buffer, and hands serde_json the placeholder `0`
//! instead. The group visitor, on that placeholder, parses the kept bytes
//! with `from_slice` and the same visitors. serde_json still reads the rest
//! of the document (`status`, `error`, separators), so that part's
//! semantics stay the same.
//!
//! Memory: one group's bytes (the largest group seen), not the document.
//!
//! Anything unusual makes it stop splitting and pass the input through
//! unchanged from there on, so that serde_json's reader decides exactly as
//! it would have alone: a body that is not an object, a top-level key with
//! escapes or a nested value before `data`, an element that is not an
//! object, nesting close to serde_json's recursion limit, and the end of
//! the input or a read error inside a group (the bytes kept so far are
//! passed on first, so the error and its kind are the same).

use std::cell::RefCell;
use std::io::{self, Read};

/// serde_json allows 127 nested containers where a visitor descends (values
/// skipped with `IgnoredAny` have no limit, and our visitors go a few
/// levels deep). A group parsed from a slice starts two levels shallower
/// than inside the document, so past this depth the splitter passes the
/// input through: whatever limit applies is then met exactly where the
/// plain reader would meet it.
const MAX_GROUP_DEPTH: u32 = 125;

/// The group the splitter kept for the visitor, and what parsing it said.
#[derive(Default)]
pub(super) struct Pending {
    pub bytes: Vec<u8>,
    /// `bytes` holds a whole group announced by a placeholder.
    pub ready: bool,
    /// The error from parsing a kept group; the document's error.
    pub error: Option<serde_json::Error>,
}

enum State {
    /// Before the document's opening brace.
    Start,
    /// Inside the document object, between values.
    Top { expect_key: bool, key_is_data: bool },
    /// Inside a top-level string (a key when `key` is `Some`).
    TopString { key: Option<Vec<u8>>, escaped: bool },
    /// After `"data":`, before its value.
    DataValue,
    /// Inside the `data` array, between elements.
    Data,
    /// Copying the input unchanged.
    Through,
}

pub(super) struct Splitter<'p, R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes for serde_json, before more input is looked at.
    out: Vec<u8>,
    out_pos: usize,
    state: State,
    pending: &'p RefCell<Pending>,
    /// A read error to report once the bytes before it are passed on.
    error: Option<io::Error>,
}

impl<'p, R: Read> Splitter<'p, R> {
    pub fn new(inner: R, capacity: usize, pending: &'p RefCell<Pending>) -> Self {
        Splitter {
            inner,
            buf: vec![0; capacity.max(4096)].into_boxed_slice(),
            pos: 0,
            len: 0,
            out: Vec::with_capacity(64),
            out_pos: 0,
            state: State::Start,
            pending,
            error: None,
        }
    }

    /// More input; `Ok(false)` at its end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos < self.len {
            return Ok(true);
        }
        loop {
            match self.inner.read(&mut self.buf) {
                Ok(n) => {
                    self.pos = 0;
                    self.len = n;
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves on until `out` has bytes for serde_json or the input ended.
    fn advance(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if let Some(e) = self.error.take() {
                return Err(e);
            }
            if !self.fill()? {
                return Ok(());
            }
            if let State::Through = self.state {
                // Hand over a slice of the buffer as it is.
                self.out.extend_from_slice(&self.buf[self.pos..self.len]);
                self.pos = self.len;
                return Ok(());
            }
            let b = self.buf[self.pos];
            if matches!(self.state, State::Data) && b == b'{' {
                self.capture();
                continue;
            }
            self.pos += 1;
            self.out.push(b);
            self.step(b);
        }
        Ok(())
    }

    /// One byte outside groups: where in the document are we now?
    fn step(&mut self, b: u8) {
        let ws = matches!(b, b' ' | b'\n' | b'\r' | b'\t');
        self.state = match std::mem::replace(&mut self.state, State::Through) {
            State::Start if ws => State::Start,
            State::Start if b == b'{' => State::Top {
                expect_key: true,
                key_is_data: false,
            },
            State::Top { expect_key, .. } if b == b'"' => State::TopString {
                key: expect_key.then(Vec::new),
                escaped: false,
            },
            State::Top { key_is_data, .. } if b == b':' => {
                if key_is_data {
                    State::DataValue
                } else {
                    State::Top {
                        expect_key: false,
                        key_is_data: false,
                    }
                }
            }
            State::Top { .. } if b == b',' => State::Top {
                expect_key: true,
                key_is_data: false,
            },
            // A nested value of another field, or the end of the document:
            // serde_json reads the rest by itself.
            State::Top { .. } if matches!(b, b'{' | b'[' | b'}' | b']') => State::Through,
            // Whitespace and scalar values (`true`, numbers) as they come.
            top @ State::Top { .. } => top,
            State::TopString { key, escaped: true } => State::TopString {
                key,
                escaped: false,
            },
            State::TopString { key: Some(_), .. } if b == b'\\' => State::Through,
            State::TopString { key, .. } if b == b'\\' => State::TopString { key, escaped: true },
            State::TopString { key, .. } if b == b'"' => State::Top {
                expect_key: false,
                key_is_data: key.as_deref() == Some(&b"data"[..]),
            },
            State::TopString {
                key: Some(mut key), ..
            } => {
                if key.len() <= 4 {
                    key.push(b);
                } else {
                    // Longer than "data": remember only that.
                    key.truncate(0);
                    key.extend_from_slice(b"-----");
                }
                State::TopString {
                    key: Some(key),
                    escaped: false,
                }
            }
            string @ State::TopString { .. } => string,
            State::DataValue if ws => State::DataValue,
            State::DataValue if b == b'[' => State::Data,
            State::Data if ws || b == b',' => State::Data,
            State::Data if b == b']' => State::Top {
                expect_key: false,
                key_is_data: false,
            },
            _ => State::Through,
        };
    }

    /// Keeps the group starting at `buf[pos]` (a `{`) and announces it
    /// with the placeholder, or passes it through (see the module doc).
    fn capture(&mut self) {
        let mut pending = self.pending.borrow_mut();
        let group = &mut pending.bytes;
        group.clear();
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        loop {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
            let chunk = &self.buf[self.pos..self.len];
            let mut i = 0;
            while i < chunk.len() {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                if in_string {
                    // The bulk of a group: skip to the next quote or backslash.
                    while i < chunk.len() && chunk[i] != b'"' && chunk[i] != b'\\' {
                        i += 1;
                    }
                    if i < chunk.len() {
                        if chunk[i] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                        }
                        i += 1;
                    }
                    continue;
                }
                match chunk[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > MAX_GROUP_DEPTH {
                            group.extend_from_slice(&chunk[..i]);
                            self.pos += i;
                            return self.pass_through(pending);
                        }
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            group.extend_from_slice(&chunk[..=i]);
                            self.pos += i + 1;
                            pending.ready = true;
                            self.out.push(b'0');
                            return;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            group.extend_from_slice(chunk);
            self.pos = self.len;
        }
        // The input ended (or failed) inside the group.
        self.pass_through(pending)
    }

    fn pass_through(&mut self, mut pending: std::cell::RefMut<'_, Pending>) {
        self.out.extend_from_slice(&pending.bytes);
        pending.bytes.clear();
        self.state = State::Through;
    }
}

impl<R: Read> Read for Splitter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.advance()?;
        }
        let n = (self.out.len() - self.out_pos).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}
