//! The rhythms' part of the state file (schema v3): per gateway identity,
//! each group's remembered pushes and the groups deleted as stale that may
//! return ([`crate::rhythm::Memory`]), each by the hash of its grouping key
//! ([`KeyHash`]). Written compactly: a push is `[time, passes]`, so 10,000
//! groups take about a megabyte.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::identity::GatewayId;
use crate::rhythm::{Departed, KeyHash, Memory, Push, Rhythm};

#[derive(Serialize)]
pub(super) struct GatewayOut<'a> {
    url: &'a str,
    discovered_from: Option<&'a str>,
    address: Option<SocketAddr>,
    groups: Vec<GroupOut>,
    departed: Vec<DepartedOut>,
}

#[derive(Serialize)]
struct GroupOut {
    key: String,
    pushes: Vec<(f64, u32)>,
}

#[derive(Serialize)]
struct DepartedOut {
    key: String,
    deleted_at: f64,
    pushes: Vec<(f64, u32)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayIn<'a> {
    pub url: String,
    pub discovered_from: Option<String>,
    pub address: Option<SocketAddr>,
    #[serde(borrow)]
    groups: Vec<GroupIn<'a>>,
    #[serde(borrow)]
    departed: Vec<DepartedIn<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupIn<'a> {
    key: &'a str,
    pushes: Vec<(f64, u32)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartedIn<'a> {
    key: &'a str,
    deleted_at: f64,
    pushes: Vec<(f64, u32)>,
}

fn pushes_out(r: &Rhythm) -> Vec<(f64, u32)> {
    r.pushes.iter().map(|p| (p.at, p.passes)).collect()
}

/// A rhythm read back: its pushes in order, at most as many as are kept
/// (a file edited by hand cannot make the memory unbounded).
fn pushes_in(pushes: Vec<(f64, u32)>) -> Result<Rhythm, String> {
    if !pushes.windows(2).all(|w| w[0].0 < w[1].0) || pushes.iter().any(|p| !p.0.is_finite()) {
        return Err("a group's pushes are not in increasing order".into());
    }
    let skip = pushes.len().saturating_sub(crate::rhythm::PUSHES_KEPT);
    Ok(Rhythm {
        pushes: pushes
            .into_iter()
            .skip(skip)
            .map(|(at, passes)| Push { at, passes })
            .collect(),
    })
}

fn key_in(key: &str) -> Result<KeyHash, String> {
    KeyHash::parse(key).ok_or_else(|| format!("{key:?} is not a group's key (32 hex digits)"))
}

pub(super) fn to_file<'a>(id: &'a GatewayId, memory: &'a Memory) -> GatewayOut<'a> {
    GatewayOut {
        url: &id.url,
        discovered_from: id.replica.as_ref().map(|r| r.discovered_from.as_str()),
        address: id.replica.as_ref().and_then(|r| r.address),
        groups: memory
            .groups
            .iter()
            .map(|(key, r)| GroupOut {
                key: key.to_string(),
                pushes: pushes_out(r),
            })
            .collect(),
        departed: memory
            .departed
            .iter()
            .map(|(key, d)| DepartedOut {
                key: key.to_string(),
                deleted_at: d.deleted_at,
                pushes: pushes_out(&d.rhythm),
            })
            .collect(),
    }
}

/// One gateway's memory as read from the file.
pub(super) fn from_file(g: GatewayIn<'_>) -> Result<Memory, String> {
    let at = |e: String| format!("{}: {e}", g.url);
    let mut memory = Memory::default();
    for group in g.groups {
        let rhythm = pushes_in(group.pushes).map_err(at)?;
        memory.groups.insert(key_in(group.key).map_err(at)?, rhythm);
    }
    for d in g.departed {
        let rhythm = pushes_in(d.pushes).map_err(at)?;
        let deleted_at = d.deleted_at;
        memory
            .departed
            .insert(key_in(d.key).map_err(at)?, Departed { deleted_at, rhythm });
    }
    Ok(memory)
}
