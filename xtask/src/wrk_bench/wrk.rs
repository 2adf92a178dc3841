//! wrk, the load generator: its Lua scripts (a fixed body, capturing a feed, consuming one) and
//! the measurement read from its output.

use std::path::Path;
use std::process::Command;

/// One wrk measurement.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sample {
    pub(super) rate: f64,
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) requests: u64,
    /// Non-2xx answers.
    pub(super) non_2xx: u64,
    /// Socket errors and timeouts.
    pub(super) errors: u64,
}

/// wrk must be installed (the bench installs nothing): say how when it is not.
pub(super) fn ensure_wrk() -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    Err("wrk is not installed: install it (Debian/Ubuntu: `apt-get install -y wrk`) and run again".into())
}

/// A wrk Lua script.
pub(super) struct Script(pub(super) String);

/// Every script prints its summary in one line that [`wrk`] reads.
pub(super) const DONE: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRKRESULT %.0f %.2f %.2f %d %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.errors.status, errors))
end
"#;

/// Numbers wrk's threads so that each reads its own share of a feed or writes its own file.
const THREADS: &str = r#"
local next_id = 0
setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
"#;

impl Script {
    fn headers(bearer: Option<&String>) -> String {
        let mut lua =
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n".to_owned();
        if let Some(bearer) = bearer {
            lua.push_str(&format!("wrk.headers[\"Authorization\"] = \"Bearer {bearer}\"\n"));
        }
        lua
    }

    pub(super) fn fixed(bearer: Option<&String>, body: &str) -> Self {
        Self(format!("{}wrk.body = [[{body}]]\n{DONE}", Self::headers(bearer)))
    }

    /// Posts `body` and appends each answer's `field` to `<file>.<thread>` (the feed).
    pub(super) fn capture(bearer: &String, body: &str, field: &str, file: &Path) -> Self {
        let file = file.display();
        Self(format!(
            r#"{}wrk.body = [[{body}]]
{THREADS}
init = function(args)
  out = io.open("{file}." .. id, "w")
  count = 0
end
response = function(status, headers, body)
  local value = body:match('"{field}":"([^"]+)"')
  if value then
    out:write(value, "\n")
    count = count + 1
    if count % 64 == 0 then out:flush() end
  end
end
{DONE}"#,
            Self::headers(Some(bearer))
        ))
    }

    /// Posts `template` with each line of the feed in turn (each thread its own file); a thread
    /// whose feed is used up stops.
    pub(super) fn feed(bearer: Option<&String>, file: &Path, template: &str) -> Self {
        let file = file.display();
        Self(format!(
            r#"{}{THREADS}
init = function(args)
  values = {{}}
  local f = io.open("{file}." .. id, "r")
  if f then
    for line in f:lines() do table.insert(values, line) end
    f:close()
  end
  n = 0
end
request = function()
  n = n + 1
  if n > #values then
    wrk.thread:stop()
    n = #values
  end
  return wrk.format(nil, nil, nil, string.format('{template}', values[n] or ""))
end
{DONE}"#,
            Self::headers(bearer)
        ))
    }
}

pub(super) fn wrk(
    url: &str,
    script: &Script,
    connections: u64,
    seconds: u64,
    dir: &Path,
) -> Result<Sample, String> {
    let path = dir.join("bench.lua");
    std::fs::write(&path, &script.0).map_err(|e| e.to_string())?;
    let out = Command::new("wrk")
        .args(["-t2", "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "-s"])
        .arg(&path)
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRKRESULT "))
        .ok_or_else(|| format!("wrk printed {text} {}", String::from_utf8_lossy(&out.stderr)))?;
    let v: Vec<f64> = line.split(' ').filter_map(|x| x.parse().ok()).collect();
    match v.as_slice() {
        [rate, p50, p99, requests, non_2xx, errors] => Ok(Sample {
            rate: *rate,
            p50: *p50,
            p99: *p99,
            requests: *requests as u64,
            non_2xx: *non_2xx as u64,
            errors: *errors as u64,
        }),
        _ => Err(format!("unreadable wrk result {line}")),
    }
}

pub(super) fn median(samples: &[Sample]) -> Sample {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    sorted[sorted.len() / 2]
}
