//! Placeholder until the selector module lands (see branch `selector`).

use std::fmt;

use crate::group::GroupingKey;

#[derive(Debug, Clone)]
pub struct Selector {
    text: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid selector {0:?}")]
pub struct SelectorError(String);

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        Err(SelectorError(text.to_owned()))
    }

    pub fn matches(&self, _key: &GroupingKey) -> bool {
        false
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
