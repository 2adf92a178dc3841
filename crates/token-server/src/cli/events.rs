//! `token-server events …`: the event log, read on the store directly through the service layer
//! (`App::events`: the cursor, filters and long poll of `GET /api/{serviceId}/events`). `list`
//! prints one page, `tail` follows a stream until Ctrl-C or SIGTERM, `export` writes every event
//! at or after a time as JSON lines, for archiving before the janitor's retention removes them.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use token_core::events::{
    DEFAULT_LIMIT, Event, EventType, EventsPage, EventsRequest, MAX_LIMIT, MAX_WAIT_SECS,
};
use token_core::{OrganizationId, ServiceId};

use super::CliError;
use crate::config::Config;
use crate::service::App;
use crate::service::events::WAIT_POLL;

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// One page of a stream's events after a cursor, oldest first, and the cursor to continue
    /// with (`--after` the `next` printed).
    List {
        #[command(flatten)]
        stream: StreamArgs,
        #[command(flatten)]
        filters: Filters,
        /// Only events after this eventId (the `next` of a previous page); default: from the oldest
        /// kept.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many events (1–1000).
        #[arg(long, default_value_t = DEFAULT_LIMIT, value_parser = limit_range())]
        limit: u32,
    },
    /// Follow a stream: print its events (from the oldest kept, or after `--after`) and then each
    /// one as it is written, by any instance, until Ctrl-C or SIGTERM. A table, or one JSON object
    /// per line with `--json`.
    Tail {
        #[command(flatten)]
        stream: StreamArgs,
        #[command(flatten)]
        filters: Filters,
        /// Only events after this eventId; default: from the oldest kept.
        #[arg(long, default_value_t = 0)]
        after: u64,
    },
    /// Every event written at or after `--since`, one JSON object per line (ndjson), of one stream
    /// or, without `--service` or `--org`, of every organization's and every service's: archive
    /// them before the retention (`event_retention_days`) removes them. Each line is the event as
    /// the API answers it, with `stream` naming the stream (`{"serviceId": …}` or
    /// `{"organizationId": …}`).
    Export {
        /// The oldest time to export: RFC 3339 (`2026-12-01T00:00:00Z`) or milliseconds since the
        /// epoch.
        #[arg(long, value_parser = parse_since)]
        since: i64,
        #[command(flatten)]
        stream: AnyStream,
    },
}

/// The stream `list` and `tail` read: a service's, or an organization's own.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct StreamArgs {
    /// A service's events (tokens, clients, keys, status lists, the janitor): its ID.
    #[arg(long)]
    pub service: Option<u64>,
    /// An organization's own events (services, credentials): its ID.
    #[arg(long)]
    pub org: Option<u64>,
}

/// The stream `export` writes; neither: every stream.
#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct AnyStream {
    /// Only this service's events: its ID.
    #[arg(long)]
    pub service: Option<u64>,
    /// Only this organization's own events: its ID.
    #[arg(long)]
    pub org: Option<u64>,
}

/// What `list` and `tail` keep of a stream (all of it when none is given).
#[derive(Debug, Args)]
pub struct Filters {
    /// Only events of this type, e.g. `token.revoked` (docs/api.md, "Events", lists them).
    #[arg(long = "type", value_parser = parse_type)]
    pub event_type: Option<EventType>,
    /// Only events concerning this subject (end user).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only events concerning this client: its numeric ID.
    #[arg(long)]
    pub client_id: Option<u64>,
    /// Only events concerning this token: its `tokenId` (never its value). A base64url ID may
    /// begin with `-`: taken as the value.
    #[arg(long, allow_hyphen_values = true)]
    pub token_id: Option<String>,
}

impl Filters {
    /// The request of the service layer after `after`, with these filters.
    fn request(&self, after: u64) -> EventsRequest {
        let mut request = EventsRequest::after(after);
        request.event_type = self.event_type.map(|t| t.as_str().to_owned());
        request.subject = self.subject.clone();
        request.client_id = self.client_id;
        request.token_id = self.token_id.clone();
        request
    }
}

/// `--limit`: 1 to 1,000, as the API takes it.
fn limit_range() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT))
}

/// An event type by its name, or the list of names.
fn parse_type(name: &str) -> Result<EventType, String> {
    EventType::parse(name).ok_or_else(|| {
        let names: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        format!("unknown event type '{name}'; one of: {}", names.join(", "))
    })
}

/// `--since`: milliseconds since the epoch (digits only), or an RFC 3339 time.
pub fn parse_since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| format!("'{text}' is out of range"));
    }
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
            format!(
                "'{text}' is neither an RFC 3339 time (e.g. 2026-12-01T00:00:00Z) nor milliseconds since \
             the epoch ({e})"
            )
        })?;
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000))
        .map_err(|_| format!("'{text}' is out of range"))
}

/// A stream of the event log: a service's, or an organization's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Service(ServiceId),
    Organization(OrganizationId),
}

/// Why a command stopped before its end.
enum Stop {
    /// Standard output was closed (`… | head`): there is no one left to print for; not a failure.
    Closed,
    /// The command failed: the reason.
    Failed(String),
}

impl From<String> for Stop {
    fn from(reason: String) -> Self {
        Stop::Failed(reason)
    }
}

/// Writes `text` to standard output; a closed output stops the command quietly.
fn emit(out: &mut impl Write, text: &str) -> Result<(), Stop> {
    out.write_all(text.as_bytes()).map_err(written)
}

fn flush(out: &mut impl Write) -> Result<(), Stop> {
    out.flush().map_err(written)
}

fn written(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Stop::Closed
    } else {
        Stop::Failed(format!("cannot write to standard output: {e}"))
    }
}

/// `token-server events …`: runs the command against the configured store (opened, and migrated,
/// first) and prints what it reads.
pub fn run(config: Config, command: EventsCmd, as_json: bool) -> Result<(), CliError> {
    super::runtime()?.block_on(async move {
        let app = super::app(config).await?;
        match answer(&app, command, as_json).await {
            Ok(()) | Err(Stop::Closed) => Ok(()),
            Err(Stop::Failed(reason)) => Err(CliError::failed("token-server events", reason)),
        }
    })
}

/// Runs one `events` command through the service layer, printing as it reads.
async fn answer(app: &App, command: EventsCmd, as_json: bool) -> Result<(), Stop> {
    match command {
        EventsCmd::List { stream, filters, after, limit } => {
            let stream = stream_of(app, stream.service, stream.org).await?;
            let mut request = filters.request(after);
            request.limit = Some(limit);
            let page = read(app, stream, &request).await?;
            let mut out = std::io::stdout().lock();
            if as_json {
                let text = serde_json::to_string_pretty(&page).map_err(|e| e.to_string())?;
                emit(&mut out, &format!("{text}\n"))?;
            } else {
                emit(&mut out, &list_table(&page))?;
            }
            flush(&mut out)
        }
        EventsCmd::Tail { stream, filters, after } => {
            let stream = stream_of(app, stream.service, stream.org).await?;
            tail(app, stream, filters.request(after), as_json).await
        }
        EventsCmd::Export { since, stream } => {
            let streams = match (stream.service, stream.org) {
                (None, None) => every_stream(app).await?,
                (service, org) => vec![stream_of(app, service, org).await?],
            };
            export(app, &streams, since).await
        }
    }
}

/// The stream `--service` or `--org` names, once it is known to exist.
async fn stream_of(app: &App, service: Option<u64>, org: Option<u64>) -> Result<Stream, Stop> {
    match (service, org) {
        (Some(id), _) => match app.authentication().service(ServiceId(id)).await {
            Ok(Some(_)) => Ok(Stream::Service(ServiceId(id))),
            Ok(None) => Err(format!("service {id} does not exist").into()),
            Err(e) => Err(e.to_string().into()),
        },
        (None, Some(id)) => {
            let organizations = app.tenancy().list_organizations().await.map_err(|e| e.to_string())?;
            if organizations.iter().any(|o| o.id == OrganizationId(id)) {
                Ok(Stream::Organization(OrganizationId(id)))
            } else {
                Err(format!("organization {id} does not exist").into())
            }
        }
        (None, None) => Err("give --service ID or --org ID".to_owned().into()),
    }
}

/// Every organization's stream, then every service's (the tenancy listing's order).
async fn every_stream(app: &App) -> Result<Vec<Stream>, Stop> {
    let organizations = app.tenancy().list_organizations().await.map_err(|e| e.to_string())?;
    let services = app.tenancy().list_services(None).await.map_err(|e| e.to_string())?;
    Ok(organizations
        .iter()
        .map(|o| Stream::Organization(o.id))
        .chain(services.iter().map(|s| Stream::Service(s.id)))
        .collect())
}

/// The page of `stream` that `request` asks for, through the service layer (the API's rules).
async fn read(app: &App, stream: Stream, request: &EventsRequest) -> Result<EventsPage, Stop> {
    let page = match stream {
        Stream::Service(id) => app.events().of_service(id, request).await,
        Stream::Organization(id) => app.events().of_organization(id, request).await,
    };
    page.map_err(|e| Stop::Failed(e.to_string()))
}

/// `tail`: pages of up to 1,000 events, each request held open (long poll) until an event
/// arrives; stops at Ctrl-C or SIGTERM.
async fn tail(app: &App, stream: Stream, mut request: EventsRequest, as_json: bool) -> Result<(), Stop> {
    // Listening before the first read: a signal from now on ends the command, at any point.
    let shutdown = super::serve::shutdown_signal();
    tokio::pin!(shutdown);
    request.limit = Some(MAX_LIMIT);
    request.wait = Some(MAX_WAIT_SECS);
    let mut out = std::io::stdout();
    if !as_json {
        emit(&mut out, &row_text(&header(), &TAIL_WIDTHS))?;
        flush(&mut out)?;
    }
    loop {
        let after = request.after.unwrap_or(0);
        let asked = tokio::time::Instant::now();
        let page = tokio::select! {
            () = &mut shutdown => return Ok(()),
            page = read(app, stream, &request) => page.map_err(|stop| match stop {
                Stop::Failed(reason) => Stop::Failed(format!("{reason} (resume with --after {after})")),
                closed => closed,
            })?,
        };
        let mut text = String::new();
        for event in &page.events {
            if as_json {
                text.push_str(&serde_json::to_string(event).map_err(|e| e.to_string())?);
                text.push('\n');
            } else {
                text.push_str(&row_text(&row(event), &TAIL_WIDTHS));
            }
        }
        emit(&mut out, &text)?;
        flush(&mut out)?;
        request.after = Some(page.next);
        // Nothing new and answered at once (the wait was cut short): ask again a moment later
        // rather than at once.
        if page.events.is_empty() && page.next == after && asked.elapsed() < WAIT_POLL {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = tokio::time::sleep(WAIT_POLL) => {}
            }
        }
    }
}

/// `export`: each stream from its oldest kept event to its newest, the events at or after `since`
/// as JSON lines.
async fn export(app: &App, streams: &[Stream], since: i64) -> Result<(), Stop> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for &stream in streams {
        let name = match stream {
            Stream::Service(id) => json!({"serviceId": id}),
            Stream::Organization(id) => json!({"organizationId": id}),
        };
        let mut request = EventsRequest::after(0);
        request.limit = Some(MAX_LIMIT);
        loop {
            let after = request.after.unwrap_or(0);
            let page = read(app, stream, &request).await?;
            let mut text = String::new();
            // Events are numbered as they become readable, not by time: every page is looked at.
            for event in page.events.iter().filter(|e| e.at >= since) {
                let mut line = serde_json::to_value(event).map_err(|e| e.to_string())?;
                if let Value::Object(members) = &mut line {
                    members.insert("stream".to_owned(), name.clone());
                }
                text.push_str(&line.to_string());
                text.push('\n');
            }
            emit(&mut out, &text)?;
            if page.events.is_empty() && page.next == after {
                break;
            }
            request.after = Some(page.next);
        }
    }
    flush(&mut out)
}

/// The columns of the event tables: the ID, when, what, who, and what it touched.
const COLUMNS: [&str; 5] = ["eventId", "at", "type", "actor", "touched"];

/// Widths of `tail`'s columns, printed before the events are known (wider values push the rest
/// of their line right): an ID, a time to the millisecond, the longest type, an actor with its ID.
const TAIL_WIDTHS: [usize; 5] = [7, 24, 22, 22, 0];

fn header() -> [String; 5] {
    COLUMNS.map(str::to_owned)
}

/// One event as a table row: its ID, its time (RFC 3339, UTC, to the millisecond), its type, its
/// actor (`kind` or `kind:id`) and what it touched as `name=value` pairs.
fn row(event: &Event) -> [String; 5] {
    let actor = match &event.actor.id {
        Some(id) => format!("{}:{id}", event.actor.kind.as_str()),
        None => event.actor.kind.as_str().to_owned(),
    };
    let mut touched = Vec::new();
    let mut add = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            touched.push(format!("{name}={value}"));
        }
    };
    add("serviceId", event.service_id.map(|s| s.to_string()));
    add("subject", event.subject.clone());
    add("clientId", event.client_id.map(|c| c.to_string()));
    add("tokenId", event.token_id.clone());
    add("kid", event.kid.clone());
    add("credentialId", event.credential_id.clone());
    add("count", event.count.map(|c| c.to_string()));
    add("reason", event.reason.map(|r| r.as_str().to_owned()));
    let touched = if touched.is_empty() { "-".to_owned() } else { touched.join(" ") };
    [event.event_id.to_string(), rfc3339_ms(event.at), event.event_type.as_str().to_owned(), actor, touched]
}

/// A row, each column but the last padded to its width (and two spaces).
fn row_text(cells: &[String; 5], widths: &[usize; 5]) -> String {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        line.push_str(cell);
        if i + 1 < cells.len() {
            line.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.chars().count()) + 2));
        }
    }
    line.push('\n');
    line
}

/// `list`'s table: the events with aligned columns (or `(none)`), then the cursor to go on with.
fn list_table(page: &EventsPage) -> String {
    let mut text = String::new();
    if page.events.is_empty() {
        text.push_str("(none)\n");
    } else {
        let rows: Vec<[String; 5]> = std::iter::once(header()).chain(page.events.iter().map(row)).collect();
        let mut widths = [0; 5];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for row in &rows {
            text.push_str(&row_text(row, &widths));
        }
    }
    text.push_str(&format!("next: {} (--after {} continues)\n", page.next, page.next));
    text
}

/// `ms` since the epoch in RFC 3339, UTC, to the millisecond (`2026-12-03T07:54:08.123Z`).
fn rfc3339_ms(ms: i64) -> String {
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return ms.to_string();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use token_core::events::{Actor, Event, EventType, EventsPage, RevokeReason};

    use super::{list_table, parse_since, parse_type, rfc3339_ms, row};

    #[test]
    fn since_is_milliseconds_or_rfc_3339() {
        assert_eq!(parse_since("1764748448123"), Ok(1_764_748_448_123));
        assert_eq!(parse_since("2025-12-03T07:54:08.123Z"), Ok(1_764_748_448_123));
        assert_eq!(parse_since("2025-12-03T08:54:08+01:00"), Ok(1_764_748_448_000));
        for bad in ["", "yesterday", "2025-12-03", "-5", "99999999999999999999"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn types_are_named_and_a_wrong_one_lists_them() {
        assert_eq!(parse_type("token.revoked"), Ok(EventType::TokenRevoked));
        let err = parse_type("token.nope").unwrap_err();
        assert!(err.contains("token.nope") && err.contains("tokens.purged"), "{err}");
    }

    #[test]
    fn rows_name_the_actor_and_what_was_touched() {
        let mut event = Event::new(EventType::TokenRevoked, Actor::holder(Some(7)), 1_764_748_448_005)
            .subject("alice")
            .count(2)
            .reason(RevokeReason::FamilyReuse);
        event.event_id = 12;
        assert_eq!(
            row(&event),
            [
                "12".to_owned(),
                "2025-12-03T07:54:08.005Z".to_owned(),
                "token.revoked".to_owned(),
                "holder:7".to_owned(),
                "subject=alice count=2 reason=family_reuse".to_owned()
            ]
        );
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        let page = EventsPage { events: vec![event], next: 12 };
        let text = list_table(&page);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("eventId  at "), "{text}");
        assert!(
            lines[1].starts_with("12       2025-12-03T07:54:08.005Z  token.revoked  holder:7  subject="),
            "{text}"
        );
        assert_eq!(lines[2], "next: 12 (--after 12 continues)");
        assert_eq!(list_table(&EventsPage::default()), "(none)\nnext: 0 (--after 0 continues)\n");
    }
}
