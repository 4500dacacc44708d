//! The little of the protobuf wire format a push of `io.prometheus.client`
//! `MetricFamily` messages needs: varints, zigzag, doubles and nested
//! messages, each written as it comes (client_model's `metrics.proto` is
//! proto2: every field set is written, a zero too, and repeated scalars are
//! not packed). A crate (prost and its build step) would bring a code
//! generator and a runtime for six small messages written one way only.

/// One message being written: its fields in the order they are added.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Message(Vec<u8>);

/// The wire types used here.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Message {
    pub fn new() -> Message {
        Message::default()
    }

    fn key(&mut self, field: u32, wire: u8) {
        varint(u64::from(field) << 3 | u64::from(wire), &mut self.0);
    }

    /// `uint64`, `uint32` and enums.
    pub fn uint(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, VARINT);
        varint(v, &mut self.0);
        self
    }

    /// `sint32` and `sint64`: zigzag, so that small negative numbers stay
    /// short.
    pub fn sint(&mut self, field: u32, v: i64) -> &mut Self {
        self.uint(field, ((v << 1) ^ (v >> 63)) as u64)
    }

    pub fn double(&mut self, field: u32, v: f64) -> &mut Self {
        self.key(field, FIXED64);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }

    pub fn message(&mut self, field: u32, m: &Message) -> &mut Self {
        self.bytes(field, &m.0)
    }

    fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, LENGTH_DELIMITED);
        varint(v.len() as u64, &mut self.0);
        self.0.extend_from_slice(v);
        self
    }

    /// Appends the message to `out` behind its length, as the
    /// `encoding=delimited` push format wants each `MetricFamily`.
    pub fn write_delimited(&self, out: &mut Vec<u8>) {
        varint(self.0.len() as u64, out);
        out.extend_from_slice(&self.0);
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_protobuf_specification_says() {
        // The specification's own examples: 150 in field 1 is 08 96 01.
        assert_eq!(Message::new().uint(1, 150).as_bytes(), [0x08, 0x96, 0x01]);
        // "testing" in field 2.
        assert_eq!(
            Message::new().string(2, "testing").as_bytes(),
            [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        // ZigZag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, i64::MIN -> u64::MAX.
        for (v, z) in [(0, 0u8), (-1, 1), (1, 2), (-2, 3)] {
            assert_eq!(Message::new().sint(1, v).as_bytes(), [0x08, z]);
        }
        let min = Message::new().sint(1, i64::MIN).as_bytes().to_vec();
        assert_eq!(min.len(), 11, "{min:02x?}");
        assert_eq!(
            Message::new().double(1, 1.0).as_bytes(),
            [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]
        );
        let mut out = Vec::new();
        Message::new().uint(1, 1).write_delimited(&mut out);
        assert_eq!(out, [0x02, 0x08, 0x01]);
    }
}
