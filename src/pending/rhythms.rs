//! The rhythms' part of the state file (schema v3): per gateway identity,
//! each group's remembered pushes and the groups deleted as stale that may
//! return ([`crate::rhythm::Memory`]), each by the hash of its grouping key
//! ([`KeyHash`]). Written compactly, a push as `[time, passes]`, and
//! streamed both ways (no copy of the memory is built to write or read
//! it): 10,000 groups take about a megabyte and a few milliseconds.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::identity::GatewayId;
use crate::rhythm::{Departed, KeyHash, Memory, Push, Rhythm};

/// One gateway's memory as the file writes it.
pub(super) struct GatewayOut<'a> {
    id: &'a GatewayId,
    memory: &'a Memory,
}

pub(super) fn to_file<'a>(id: &'a GatewayId, memory: &'a Memory) -> GatewayOut<'a> {
    GatewayOut { id, memory }
}

impl Serialize for GatewayOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let replica = self.id.replica.as_ref();
        let mut g = s.serialize_struct("Gateway", 5)?;
        g.serialize_field("url", &self.id.url)?;
        g.serialize_field("discovered_from", &replica.map(|r| &r.discovered_from))?;
        g.serialize_field("address", &replica.and_then(|r| r.address))?;
        g.serialize_field("groups", &Groups(&self.memory.groups))?;
        g.serialize_field("departed", &DepartedOut(&self.memory.departed))?;
        g.end()
    }
}

struct Groups<'a>(&'a BTreeMap<KeyHash, Rhythm>);
struct DepartedOut<'a>(&'a BTreeMap<KeyHash, Departed>);
struct Hex(KeyHash);
struct PushesOut<'a>(&'a Rhythm);

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(key, rhythm)| GroupOut {
            key: *key,
            deleted_at: None,
            rhythm,
        }))
    }
}

impl Serialize for DepartedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(key, d)| GroupOut {
            key: *key,
            deleted_at: Some(d.deleted_at),
            rhythm: &d.rhythm,
        }))
    }
}

/// A group (`deleted_at` `None`) or a deleted one.
struct GroupOut<'a> {
    key: KeyHash,
    deleted_at: Option<f64>,
    rhythm: &'a Rhythm,
}

impl Serialize for GroupOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut g = s.serialize_struct("Group", 3)?;
        g.serialize_field("key", &Hex(self.key))?;
        if let Some(t) = self.deleted_at {
            g.serialize_field("deleted_at", &t)?;
        }
        g.serialize_field("pushes", &PushesOut(self.rhythm))?;
        g.end()
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for PushesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.pushes().map(|p| (p.at, p.passes)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayIn {
    pub url: String,
    pub discovered_from: Option<String>,
    pub address: Option<SocketAddr>,
    groups: Read<GroupIn>,
    departed: Read<DepartedIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupIn {
    key: KeyIn,
    pushes: PushesIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartedIn {
    key: KeyIn,
    deleted_at: f64,
    pushes: PushesIn,
}

/// What one entry of a list becomes in the memory.
trait Entry {
    type Value;
    fn split(self) -> (KeyHash, Self::Value);
}

impl Entry for GroupIn {
    type Value = Rhythm;
    fn split(self) -> (KeyHash, Rhythm) {
        (self.key.0, self.pushes.0)
    }
}

impl Entry for DepartedIn {
    type Value = Departed;
    fn split(self) -> (KeyHash, Departed) {
        let (deleted_at, rhythm) = (self.deleted_at, self.pushes.0);
        (self.key.0, Departed { deleted_at, rhythm })
    }
}

/// A list of entries read straight into the memory's map: no list of
/// 10,000 entries is built first.
struct Read<E: Entry>(BTreeMap<KeyHash, E::Value>);

impl<'de, E: Entry + Deserialize<'de>> Deserialize<'de> for Read<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Read<E>, D::Error> {
        struct List<E>(std::marker::PhantomData<E>);
        impl<'de, E: Entry + Deserialize<'de>> Visitor<'de> for List<E> {
            type Value = Read<E>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of groups")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Read<E>, A::Error> {
                let mut map = BTreeMap::new();
                while let Some(entry) = seq.next_element::<E>()? {
                    let (key, value) = entry.split();
                    map.insert(key, value);
                }
                Ok(Read(map))
            }
        }
        d.deserialize_seq(List(std::marker::PhantomData))
    }
}

/// A group's key: 32 hex digits ([`KeyHash`]).
struct KeyIn(KeyHash);

impl<'de> Deserialize<'de> for KeyIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyIn, D::Error> {
        // A visitor of any string: read through a reader, the file has no
        // text to borrow from, and a String per group is not needed.
        struct Digits;
        impl Visitor<'_> for Digits {
            type Value = KeyIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a group's key (32 hex digits)")
            }
            fn visit_str<E: de::Error>(self, hex: &str) -> Result<KeyIn, E> {
                KeyHash::parse(hex).map(KeyIn).ok_or_else(|| {
                    E::custom(format!("{hex:?} is not a group's key (32 hex digits)"))
                })
            }
        }
        d.deserialize_str(Digits)
    }
}

/// A rhythm read back: its pushes in increasing order, the last
/// [`crate::rhythm::PUSHES_KEPT`] of them (a file edited by hand cannot
/// make the memory unbounded).
struct PushesIn(Rhythm);

impl<'de> Deserialize<'de> for PushesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PushesIn, D::Error> {
        struct Pushes;
        impl<'de> Visitor<'de> for Pushes {
            type Value = PushesIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of [time, passes] in increasing order of time")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PushesIn, A::Error> {
                // No allocation per group: the last ones kept, as read.
                let mut rhythm = Rhythm::default();
                let mut before = f64::NEG_INFINITY;
                while let Some((at, passes)) = seq.next_element::<(f64, u32)>()? {
                    if !(at.is_finite() && at > before) {
                        return Err(de::Error::custom(
                            "a group's pushes are not in increasing order",
                        ));
                    }
                    before = at;
                    let push = Push { at, passes };
                    rhythm = Rhythm::of(rhythm.pushes().chain([push]));
                }
                Ok(PushesIn(rhythm))
            }
        }
        d.deserialize_seq(Pushes)
    }
}

/// One gateway's memory as read from the file.
pub(super) fn from_file(g: GatewayIn) -> Memory {
    Memory {
        groups: g.groups.0,
        departed: g.departed.0,
    }
}
