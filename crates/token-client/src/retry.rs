//! Retry policy: a pure value that decides, from what happened and the attempt number, whether
//! and when to try again. The client applies it only to requests that are safe to retry.

use std::time::Duration;

/// What a failed attempt looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The connection failed before the request was sent: always safe to retry.
    NotSent,
    /// Sent, but the answer never came (timeout, reset): only idempotent requests are retried.
    Lost,
    /// The server answered with this status and maybe a `Retry-After` (seconds).
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` in seconds, when sent.
        retry_after_secs: Option<u64>,
    },
}

/// How a request may be retried.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum RetryPolicy {
    /// Never retry.
    None,
    /// Up to `max_retries` more attempts, `delay` apart.
    Fixed {
        /// The pause between attempts.
        delay: Duration,
        /// Attempts after the first.
        max_retries: u32,
    },
    /// Up to `max_retries` more attempts, `base · 2^attempt` apart (capped at `max_delay`), with
    /// "full jitter": a random fraction of that delay.
    Exponential {
        /// The first delay, doubled at each attempt.
        base: Duration,
        /// The longest delay.
        max_delay: Duration,
        /// Attempts after the first.
        max_retries: u32,
    },
}

impl Default for RetryPolicy {
    /// Exponential, 3 retries from 100 ms up to 5 s.
    fn default() -> Self {
        RetryPolicy::Exponential {
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_retries: 3,
        }
    }
}

/// Statuses worth another try: throttled (the request was not processed) and transient gateway
/// or availability errors.
fn transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0 for the first retry), or `None` to give up.
    /// `idempotent` says whether repeating the request is harmless; `jitter` is a number in
    /// `[0, 1)` supplied by the caller (so this stays pure and testable).
    pub fn next_delay(&self, attempt: u32, what: Attempt, idempotent: bool, jitter: f64) -> Option<Duration> {
        let retryable = match what {
            Attempt::NotSent => true,
            Attempt::Lost => idempotent,
            // A 429 means the server refused before doing anything; 5xx may have half-happened.
            Attempt::Status { status: 429, .. } => true,
            Attempt::Status { status, .. } => idempotent && transient(status),
        };
        if !retryable {
            return None;
        }
        let computed = match *self {
            RetryPolicy::None => return None,
            RetryPolicy::Fixed { delay, max_retries } => (attempt < max_retries).then_some(delay)?,
            RetryPolicy::Exponential { base, max_delay, max_retries } => {
                if attempt >= max_retries {
                    return None;
                }
                let exponential =
                    base.saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX)).min(max_delay);
                exponential.mul_f64(jitter.clamp(0.0, 1.0))
            }
        };
        // The server's Retry-After wins when it asks for longer.
        let asked = match what {
            Attempt::Status { retry_after_secs: Some(secs), .. } => Duration::from_secs(secs),
            _ => Duration::ZERO,
        };
        Some(computed.max(asked))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn none_never_retries() {
        assert_eq!(RetryPolicy::None.next_delay(0, Attempt::NotSent, true, 0.5), None);
    }

    #[test]
    fn fixed_retries_up_to_the_limit() {
        let p = RetryPolicy::Fixed { delay: 50 * MS, max_retries: 2 };
        assert_eq!(p.next_delay(0, Attempt::NotSent, false, 0.0), Some(50 * MS));
        assert_eq!(p.next_delay(1, Attempt::NotSent, false, 0.0), Some(50 * MS));
        assert_eq!(p.next_delay(2, Attempt::NotSent, false, 0.0), None);
    }

    #[test]
    fn exponential_grows_caps_and_jitters() {
        let p = RetryPolicy::Exponential { base: 100 * MS, max_delay: 1000 * MS, max_retries: 10 };
        let lost = Attempt::Lost;
        assert_eq!(p.next_delay(0, lost, true, 0.999_999).map(|d| d.as_millis()), Some(99));
        assert_eq!(p.next_delay(3, lost, true, 1.0), Some(800 * MS));
        assert_eq!(p.next_delay(4, lost, true, 1.0), Some(1000 * MS), "capped");
        let many = RetryPolicy::Exponential { base: 100 * MS, max_delay: 1000 * MS, max_retries: 100 };
        assert_eq!(many.next_delay(40, lost, true, 1.0), Some(1000 * MS), "no overflow");
        assert_eq!(p.next_delay(2, lost, true, 0.5), Some(200 * MS), "full jitter");
        assert_eq!(p.next_delay(10, lost, true, 1.0), None);
    }

    #[test]
    fn only_safe_requests_are_retried() {
        let p = RetryPolicy::Fixed { delay: MS, max_retries: 5 };
        let s503 = Attempt::Status { status: 503, retry_after_secs: None };
        assert_eq!(p.next_delay(0, s503, true, 0.0), Some(MS));
        assert_eq!(p.next_delay(0, s503, false, 0.0), None, "a POST that may have happened is not repeated");
        assert_eq!(p.next_delay(0, Attempt::Lost, false, 0.0), None);
        assert_eq!(p.next_delay(0, Attempt::NotSent, false, 0.0), Some(MS));
        let s400 = Attempt::Status { status: 400, retry_after_secs: None };
        assert_eq!(p.next_delay(0, s400, true, 0.0), None, "client errors are final");
        let s500 = Attempt::Status { status: 500, retry_after_secs: None };
        assert_eq!(p.next_delay(0, s500, true, 0.0), None);
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy::Fixed { delay: MS, max_retries: 5 };
        let throttled = Attempt::Status { status: 429, retry_after_secs: Some(2) };
        assert_eq!(p.next_delay(0, throttled, false, 0.0), Some(Duration::from_secs(2)));
    }
}
