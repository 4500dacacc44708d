//! The fast path of [`read_document`](super::read_document).
//!
//! serde_json reading from an `io::Read` goes through its input one byte at a
//! time (about 200 MB/s here), while parsing a slice skips strings in bulk
//! (about 700 MB/s). A document is almost all groups, so this reader sits
//! between the response and serde_json: it reads the response into a window
//! of [`WINDOW_BYTES`], parses each object of the top-level `data` array in
//! place with `from_slice` and the same group visitor, and hands serde_json
//! the placeholder `0` instead of the group's bytes. The group visitor, on
//! that placeholder, takes the parsed group. serde_json still reads the rest
//! of the document (`status`, `error`, separators), so that part's semantics
//! stay the same.
//!
//! A group that runs past the end of the window (serde_json says "EOF") is
//! moved to the front, the window is filled, and the group is parsed again;
//! a group larger than the window doubles it, up to [`MAX_WINDOW_BYTES`]. A
//! group larger than that is not held: from its first byte on, the input
//! passes through to serde_json's streaming reader (slower, but its memory
//! does not grow with the number of series). Memory: at most the largest
//! window, whatever the size of the document or of its groups.
//!
//! Anything unusual makes it stop and pass the input through unchanged from
//! there on, so that serde_json's reader decides exactly as it would have
//! alone: a body that is not an object, a top-level key with escapes or a
//! nested value before `data`, an element that is not an object, a group
//! that is not valid JSON, and the end of the input or a read error inside
//! a group (the bytes before it are passed on first, so the error and its
//! kind are the same). A group parsed from a slice starts two levels
//! shallower than inside the document, which could only matter for
//! serde_json's recursion limit (127); the visitors descend a few levels
//! and skip the rest with `IgnoredAny`, which has no limit, so no input
//! meets it on either path.
//!
//! With a spool (`--archive`), each group parsed in the window is copied
//! there whole, from the window's bytes; a group that streams is kept by
//! the group visitor (see `spool.rs`).

use std::cell::{Cell, RefCell};
use std::io::{self, Read};

use serde::de::{DeserializeSeed, IgnoredAny};

use super::{Entry, GroupSeed, Spool};

/// The window the groups are parsed in: big enough that re-parsing the one
/// group cut by its end costs a few percent.
pub(super) const WINDOW_BYTES: usize = 1 << 20;

/// The window never grows past this; a larger group streams instead. A
/// Flink group of 200 series is about 60 KB, so this holds some 15,000.
pub(super) const MAX_WINDOW_BYTES: usize = 4 << 20;

/// The channel from the splitter to the visitor of the `data` array. The
/// splitter parses a group in its window, [gives](Handoff::give) it, and
/// writes the placeholder `0` where the group's bytes were; the visitor,
/// reading that placeholder as an element of `data` (its own seed,
/// `ElementSeed`, not the group's), [takes](Handoff::take) it. At most one
/// group is in hand, and every group given is taken: anything else means
/// the two halves disagree about the document, and
/// [`finish`](Handoff::finish) fails the scan rather than lose a group or
/// put it in another's place.
///
/// It also counts the bytes handed to serde_json, from which the visitor
/// measures a group that streams past (see [`Handoff::delivered`]).
#[derive(Default)]
pub(super) struct Handoff {
    entry: RefCell<Option<Entry>>,
    given: Cell<u64>,
    taken: Cell<u64>,
    delivered: Cell<u64>,
}

impl Handoff {
    fn give(&self, entry: Entry) {
        let before = self.entry.replace(Some(entry));
        debug_assert!(
            before.is_none(),
            "the splitter gave a group before the visitor took the last one"
        );
        self.given.set(self.given.get() + 1);
    }

    /// The group the placeholder stands for; `None` when there is none (a
    /// number in the document itself, passed through).
    pub(super) fn take(&self) -> Option<Entry> {
        let entry = self.entry.take();
        if entry.is_some() {
            self.taken.set(self.taken.get() + 1);
        }
        entry
    }

    /// How many bytes serde_json has read so far. Its reader takes one
    /// byte a time (`io::Bytes`) and looks one ahead at most, so when a
    /// group's visitor starts, the last byte read is the group's `{`, and
    /// when it has seen the last key, its `}`: the group's length is the
    /// difference plus one.
    pub(super) fn delivered(&self) -> u64 {
        self.delivered.get()
    }

    /// Whether a group given is waiting for its placeholder.
    pub(super) fn holds(&self) -> bool {
        self.entry.borrow().is_some()
    }

    /// After the document: every group given was taken, once.
    pub(super) fn finish(&self) -> Result<(), String> {
        let (given, taken) = (self.given.get(), self.taken.get());
        if given == taken && !self.holds() {
            return Ok(());
        }
        debug_assert!(false, "{given} groups given, {taken} taken");
        Err(format!(
            "the fast parser handed over {given} groups and {taken} were read \
             (a bug in pushgateway-janitor: nothing was deleted; please report it)"
        ))
    }
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
    buf: Vec<u8>,
    /// How far `buf` may grow.
    max_window: usize,
    pos: usize,
    len: usize,
    /// The input has ended.
    eof: bool,
    /// Bytes for serde_json, before more input is looked at.
    out: Vec<u8>,
    out_pos: usize,
    state: State,
    handoff: &'p Handoff,
    /// Where each group parsed here is kept (`--archive`).
    spool: Option<&'p RefCell<Spool>>,
    /// What a group parsed in the window is read with: the reader path's
    /// own seed, without `spool` (its bytes are kept whole).
    group: GroupSeed<'p>,
    /// A read error to report once the bytes before it are passed on.
    error: Option<io::Error>,
}

impl<'p, R: Read> Splitter<'p, R> {
    pub fn new(
        inner: R,
        window: usize,
        max_window: usize,
        handoff: &'p Handoff,
        spool: Option<&'p RefCell<Spool>>,
        ttl_metric: Option<&'p str>,
    ) -> Self {
        Splitter {
            inner,
            buf: vec![0; window.max(1)],
            max_window: max_window.max(window.max(1)),
            pos: 0,
            len: 0,
            eof: false,
            out: Vec::with_capacity(64),
            out_pos: 0,
            state: State::Start,
            handoff,
            spool,
            group: GroupSeed {
                spool: None,
                ttl_metric,
            },
            error: None,
        }
    }

    /// More input; `Ok(false)` at its end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = 0;
            if let Err(e) = self.fill_window() {
                if self.len == 0 {
                    return Err(e);
                }
                // Pass on what came before the error first.
                self.error = Some(e);
            }
        }
        Ok(self.pos < self.len)
    }

    /// Keeps `buf[pos..len]`, moved to the front, and reads until the
    /// window is full or the input ends. A full window doubles first.
    fn fill_window(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        while self.len < self.buf.len() && !self.eof {
            match self.inner.read(&mut self.buf[self.len..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Moves on until `out` has bytes for serde_json or the input ended.
    fn advance(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() {
            if self.pos == self.len {
                if let Some(e) = self.error.take() {
                    return Err(e);
                }
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

    /// Parses the group starting at `buf[pos]` (a `{`) and announces it
    /// with the placeholder, or passes it through (see the module doc).
    fn capture(&mut self) {
        loop {
            let mut de = serde_json::Deserializer::from_slice(&self.buf[self.pos..self.len]);
            // A seed, not a `StreamDeserializer` (which wants a type without
            // state); the stream made afterwards only tells where the group
            // ended. The group is an object, so it ends at its `}`.
            match self.group.deserialize(&mut de) {
                Ok(mut entry) => {
                    let end = self.pos + de.into_iter::<IgnoredAny>().byte_offset();
                    entry.size_mut().bytes = (end - self.pos) as u64;
                    if let Some(spool) = self.spool {
                        spool.borrow_mut().whole(&self.buf[self.pos..end]);
                    }
                    self.pos = end;
                    self.handoff.give(entry);
                    self.out.push(b'0');
                    return;
                }
                // The group goes on past the window.
                Err(e) if e.is_eof() && !self.eof => {}
                // Not valid JSON, or cut by the end of the input: serde_json's
                // reader will say so.
                _ => return self.pass_through(),
            }
            // The group fills the whole window and the window may not grow:
            // stream it (and the rest) instead of holding it.
            if self.pos == 0 && self.len == self.buf.len() && self.buf.len() * 2 > self.max_window {
                return self.pass_through();
            }
            let before = self.len - self.pos;
            if let Err(e) = self.fill_window() {
                self.error = Some(e);
                return self.pass_through();
            }
            if self.len - self.pos == before {
                return self.pass_through();
            }
        }
    }

    fn pass_through(&mut self) {
        self.out.extend_from_slice(&self.buf[self.pos..self.len]);
        self.pos = self.len;
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
        let handoff = self.handoff;
        handoff.delivered.set(handoff.delivered.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read_document_slice, read_with, GroupSeed};
    use super::{Handoff, Splitter};
    use crate::group::Entry;

    fn unmeasured(mut entries: Vec<Entry>) -> Vec<Entry> {
        for entry in &mut entries {
            entry.size_mut().bytes = 0;
        }
        entries
    }

    // That the fast path answers exactly as serde_json alone, in every
    // window size and read size, is tests/integration/document_split.rs's. This is what
    // only the inside shows: memory stays bounded.

    const GROUP: &str = r#"{"labels":{"job":"j","instance":"h1"},"push_time_seconds":{"metrics":[{"value":"1.7e+09"}]}}"#;

    #[test]
    fn a_group_larger_than_the_largest_window_is_streamed_not_held() {
        // One group with 5,000 series (~300 KB), between two small ones.
        let series: Vec<String> = (0..5000)
            .map(|i| format!(r#"{{"labels":{{"job":"big","i":"{i}"}},"value":"{i}"}}"#))
            .collect();
        let big = format!(
            r#"{{"labels":{{"job":"big"}},"push_time_seconds":{{"metrics":[{{"value":"1.7e+09"}}]}},"m":{{"metrics":[{}]}}}}"#,
            series.join(",")
        );
        let text = format!(r#"{{"status":"success","data":[{GROUP},{big},{GROUP}]}}"#);
        let handoff = Handoff::default();
        let mut splitter = Splitter::new(text.as_bytes(), 1024, 4096, &handoff, None, None);
        let entries = read_with(
            serde_json::Deserializer::from_reader(&mut splitter),
            GroupSeed {
                spool: None,
                ttl_metric: None,
            },
            Some(&handoff),
        )
        .unwrap();
        let measured: Vec<u64> = entries.iter().map(|e| e.size().bytes).collect();
        assert_eq!(
            measured,
            [GROUP.len(), big.len(), GROUP.len()].map(|n| n as u64)
        );
        assert_eq!(
            unmeasured(entries),
            read_document_slice(text.as_bytes(), &Default::default()).unwrap()
        );
        assert!(
            splitter.buf.len() <= 4096,
            "window grew to {}",
            splitter.buf.len()
        );
    }

    /// The splitter's placeholders read by a visitor that does not take
    /// them (what a change to the element seed could do): the scan fails
    /// loudly, in a debug build at the handoff and in any build at the end,
    /// never returns a document short of groups.
    #[test]
    fn a_placeholder_nobody_takes_fails_the_scan() {
        let text = format!(r#"{{"status":"success","data":[{GROUP},{GROUP}]}}"#);
        let handoff = Handoff::default();
        let broken_visitor = || {
            let mut splitter = Splitter::new(text.as_bytes(), 1024, 4096, &handoff, None, None);
            let mut read = String::new();
            // The visitor's half, broken: the placeholders are read as
            // plain numbers and no group is taken.
            std::io::Read::read_to_string(&mut splitter, &mut read).unwrap();
            assert_eq!(read, r#"{"status":"success","data":[0,0]}"#);
            handoff.finish()
        };
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(broken_visitor));
        if cfg!(debug_assertions) {
            assert!(finished.is_err(), "a debug build stops at the second group");
        } else {
            let why = finished.unwrap().unwrap_err();
            assert!(
                why.contains("handed over 2 groups and 0 were read"),
                "{why}"
            );
        }
    }

    #[test]
    fn every_group_given_is_taken_once() {
        let text = format!(r#"{{"status":"success","data":[{GROUP},7,{GROUP}]}}"#);
        let handoff = Handoff::default();
        let mut splitter = Splitter::new(text.as_bytes(), 1024, 4096, &handoff, None, None);
        let entries = read_with(
            serde_json::Deserializer::from_reader(&mut splitter),
            GroupSeed {
                spool: None,
                ttl_metric: None,
            },
            Some(&handoff),
        )
        .unwrap();
        assert_eq!(
            unmeasured(entries),
            read_document_slice(text.as_bytes(), &Default::default()).unwrap()
        );
        // After the number the splitter passes the rest through: the second
        // group reaches the visitor as itself.
        assert_eq!((handoff.given.get(), handoff.taken.get()), (1, 1));
        assert!(handoff.finish().is_ok());
    }
}
