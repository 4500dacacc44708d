//! Retrying requests, the one policy of every HTTP request the janitor
//! sends: the scan (a GET) and each DELETE of one grouping key may be sent
//! again without changing the outcome; so may the `--push-metrics` POST and
//! a `restore` PUT (the same body again); the `--notify-url` POST carries an
//! idempotency key for a receiver to drop a repeat.
//!
//! Retried: failures below HTTP that may pass (see [`Fault::retryable`]:
//! connection failures, resets, truncated responses, timeouts), 408 Request
//! Timeout (a server or proxy that gave up waiting for the request), 429 Too
//! Many Requests and 5xx. Not retried: other 4xx (the request itself is
//! wrong, or the credentials are) and TLS failures (a configuration problem
//! that waiting does not fix). A 429 or 503 with `Retry-After` waits as
//! long as it asks, up to [`RetryPolicy::MAX_BACKOFF`].

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

use super::fault::Fault;
use crate::warnings::Bounded;

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
    /// The longest wait before a retry, the backoff's and a `Retry-After`'s
    /// alike: a limiter that asks for more gets this, and the retry counts
    /// like any other.
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
        half + half.mul_f64(fastrand::f64())
    }

    /// The wait before retry number `retry` (0-based): the jittered
    /// backoff, or what the server asked for (`Retry-After`) when that is
    /// longer, never more than [`RetryPolicy::MAX_BACKOFF`].
    fn delay(&self, retry: u32, asked: Option<Duration>) -> Duration {
        let backoff = self.jittered(retry);
        match asked {
            Some(asked) => backoff.max(asked.min(Self::MAX_BACKOFF)),
            None => backoff,
        }
    }
}

/// A failed attempt, whether sending again could help, and how long the
/// server asked to wait before it.
#[derive(Debug)]
pub struct FailedAttempt<E> {
    pub error: E,
    pub retryable: bool,
    /// `Retry-After` of a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl<E> FailedAttempt<E> {
    pub fn retryable(error: E) -> Self {
        FailedAttempt {
            error,
            retryable: true,
            retry_after: None,
        }
    }

    pub fn fatal(error: E) -> Self {
        FailedAttempt {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    /// Retryable when the fault is.
    pub fn for_fault(fault: Fault, error: E) -> Self {
        FailedAttempt {
            error,
            retryable: fault.retryable(),
            retry_after: None,
        }
    }

    /// Retryable when the status is; a 429 or 503 may say when to retry.
    pub fn for_status(status: StatusCode, headers: &HeaderMap, error: E) -> Self {
        FailedAttempt {
            error,
            retryable: status_is_retryable(status),
            retry_after: retry_after(status, headers, SystemTime::now()),
        }
    }
}

/// Whether an answer with `status` may pass when the request is sent again.
pub fn status_is_retryable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
    ) || status.is_server_error()
}

/// `Retry-After` of a 429 or 503 (RFC 9110 10.2.3): delay-seconds or an
/// HTTP-date, read against `now`. Anything else, or a date in the past,
/// asks for nothing.
pub fn retry_after(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    httpdate::parse_http_date(value)
        .ok()?
        .duration_since(now)
        .ok()
}

/// An error that learns, once the retries are over, how many attempts it
/// took (the final error line says so).
pub trait Attempted {
    fn after(self, attempts: u32) -> Self;
}

/// Runs `attempt` until it succeeds, fails for good, or the retries are
/// used up; returns the last error, told how many attempts were made. Each
/// retry is logged (warn) with its cause (the error's message, which never
/// holds a secret); with `bounded`, only the first few of its kind are.
pub async fn retrying<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    bounded: Option<&Bounded>,
    attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display + Attempted,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FailedAttempt<E>>>,
{
    retrying_until(policy, what, bounded, &CancellationToken::new(), attempt).await
}

/// [`retrying`], whose wait before a retry ends when `stop` is cancelled:
/// the next attempt is then made at once, and it is up to `attempt`, which
/// watches the same token, to fail for good. So the caller awaits every
/// attempt to its end and never drops one half-way (a scan's reader).
pub async fn retrying_until<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    bounded: Option<&Bounded>,
    stop: &CancellationToken,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display + Attempted,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FailedAttempt<E>>>,
{
    let mut retry = 0;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) if failure.retryable && retry < policy.retries => {
                let delay = policy.delay(retry, failure.retry_after);
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
                let asked = if failure.retry_after.is_some() {
                    " (as Retry-After asks)"
                } else {
                    ""
                };
                let line = format!(
                    "{prefix}{error}; retrying ({retry} of {}) in {}ms{asked}",
                    policy.retries,
                    delay.as_millis()
                );
                match bounded {
                    Some(b) => crate::warn_bounded!(b, "{line}"),
                    None => tracing::warn!("{line}"),
                }
                tokio::select! {
                    biased;
                    () = stop.cancelled() => {}
                    () = tokio::time::sleep(delay) => {}
                }
            }
            Err(failure) => return Err(failure.error.after(retry + 1)),
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
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(status_is_retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 405, 409, 413] {
            assert!(
                !status_is_retryable(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_on_429_and_503_only() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, value.parse().unwrap());
            h
        };
        let busy = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(
            retry_after(busy, &headers("2"), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(StatusCode::SERVICE_UNAVAILABLE, &headers(" 7 "), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            retry_after(busy, &headers(&later), now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(retry_after(busy, &headers(&earlier), now), None);
        for junk in ["-1", "1.5", "soon", ""] {
            assert_eq!(retry_after(busy, &headers(junk), now), None, "{junk:?}");
        }
        assert_eq!(
            retry_after(StatusCode::BAD_GATEWAY, &headers("2"), now),
            None
        );
        assert_eq!(retry_after(busy, &HeaderMap::new(), now), None);
    }

    #[test]
    fn what_the_server_asks_is_waited_up_to_the_cap() {
        let p = RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_millis(100),
        };
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            RetryPolicy::MAX_BACKOFF
        );
        // Asking for less than the backoff does not shorten it.
        assert!(p.delay(0, Some(Duration::ZERO)) >= Duration::from_millis(50));
    }

    impl Attempted for String {
        fn after(self, attempts: u32) -> Self {
            format!("{self} ({attempts})")
        }
    }

    #[tokio::test]
    async fn stops_after_the_retries() {
        let policy = RetryPolicy {
            retries: 2,
            initial_backoff: Duration::ZERO,
        };
        let mut calls = 0;
        let result: Result<(), String> = retrying(&policy, "test", None, || {
            calls += 1;
            async { Err(FailedAttempt::retryable("boom".to_owned())) }
        })
        .await;
        assert_eq!(result, Err("boom (3)".to_owned()));
        assert_eq!(calls, 3);

        let mut calls = 0;
        let result: Result<(), String> = retrying(&policy, "test", None, || {
            calls += 1;
            async { Err(FailedAttempt::fatal("no".to_owned())) }
        })
        .await;
        assert_eq!(result, Err("no (1)".to_owned()));
        assert_eq!(calls, 1);
    }
}
