//! Retrying idempotent requests: the scan (a GET) and each DELETE of one
//! grouping key may be sent again without changing the outcome.
//!
//! Retried: connection failures, timeouts, 429 Too Many Requests and 5xx.
//! Not retried: other 4xx (the request itself is wrong, or the credentials
//! are) and certificate failures (a configuration problem that waiting does
//! not fix).

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::StatusCode;

use crate::errors::error_chain;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 sends each request once.
    pub retries: u32,
    /// The wait before the first retry; it doubles per retry, up to
    /// [`RetryPolicy::MAX_BACKOFF`], and each wait is jittered.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

impl RetryPolicy {
    pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

    /// The un-jittered wait before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(Self::MAX_BACKOFF)
    }

    /// "Equal jitter": half the backoff fixed, half random, so that many
    /// janitors failing together do not retry in lockstep.
    fn jittered(&self, retry: u32) -> Duration {
        let full = self.backoff(retry);
        let half = full / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A random number in [0, 1) without a dependency: the std hasher is keyed
/// randomly per `RandomState`.
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A failed attempt, and whether sending again could help.
#[derive(Debug)]
pub struct Failure<E> {
    pub error: E,
    pub retryable: bool,
}

impl<E> Failure<E> {
    pub fn retryable(error: E) -> Self {
        Failure {
            error,
            retryable: true,
        }
    }

    pub fn fatal(error: E) -> Self {
        Failure {
            error,
            retryable: false,
        }
    }

    /// Retryable when the status is.
    pub fn for_status(status: StatusCode, error: E) -> Self {
        Failure {
            error,
            retryable: status_is_retryable(status),
        }
    }
}

pub fn status_is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Connection failures and timeouts, but not certificate problems (which
/// also surface as connect errors).
pub fn request_error_is_retryable(e: &reqwest::Error) -> bool {
    if !(e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()) {
        return false;
    }
    !error_chain(e).to_ascii_lowercase().contains("certificate")
}

/// Runs `attempt` until it succeeds, fails for good, or the retries are
/// used up; returns the last error. Each retry is logged (warn) with its
/// cause (the error's message, which never holds a secret).
pub async fn retrying<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut retry = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) if failure.retryable && retry < policy.retries => {
                let delay = policy.jittered(retry);
                retry += 1;
                // At the default level: a run that sits in backoff says why.
                // The error names the request already; `what` says it when
                // the error text does not start with it.
                let error = failure.error.to_string();
                let prefix = if error.starts_with(what) {
                    String::new()
                } else {
                    format!("{what}: ")
                };
                tracing::warn!(
                    "{prefix}{error}; retrying ({retry} of {}) in {}ms",
                    policy.retries,
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
            }
            Err(failure) => return Err(failure.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            retries: 50,
            initial_backoff: Duration::from_millis(100),
        };
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(800));
        assert_eq!(p.backoff(40), RetryPolicy::MAX_BACKOFF);
        for retry in 0..10 {
            let j = p.jittered(retry);
            assert!(j >= p.backoff(retry) / 2 && j <= p.backoff(retry), "{j:?}");
        }
    }

    #[test]
    fn which_statuses_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(status_is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 405, 409, 413] {
            assert!(
                !status_is_retryable(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[tokio::test]
    async fn stops_after_the_retries() {
        let policy = RetryPolicy {
            retries: 2,
            initial_backoff: Duration::ZERO,
        };
        let mut calls = 0;
        let result: Result<(), String> = retrying(&policy, "test", || {
            calls += 1;
            async { Err(Failure::retryable("boom".to_owned())) }
        })
        .await;
        assert_eq!(result, Err("boom".to_owned()));
        assert_eq!(calls, 3);

        let mut calls = 0;
        let result: Result<(), String> = retrying(&policy, "test", || {
            calls += 1;
            async { Err(Failure::fatal("no".to_owned())) }
        })
        .await;
        assert_eq!(result, Err("no".to_owned()));
        assert_eq!(calls, 1);
    }
}
