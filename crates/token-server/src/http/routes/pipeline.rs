//! `POST /api/{serviceId}/pipeline`: many operations in one round trip (see `service::pipeline`).

use axum::extract::State;
use serde_json::{Map, Value, json};
use token_core::custom_token::{GenerateCustomTokenResponse, Pipeline, PipelineResponse};

use crate::http::auth::ServiceCaller;
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::{api_error_body, custom_token_failure};
use crate::service::App;
use crate::service::issuance::pipeline::{Outcome, Outcomes};

pub async fn pipeline(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<Pipeline>,
) -> Result<Reply<Pipeline>, Failure<Pipeline>> {
    let outcomes = app.issuance().pipeline(&caller, body.0).await?;
    let render = |outcomes: Vec<Outcome>| Value::Array(outcomes.into_iter().map(body_of).collect());
    Ok(Reply::new(PipelineResponse(match outcomes {
        Outcomes::List(outcomes) => render(outcomes),
        Outcomes::Keyed(groups) => Value::Object(
            groups.into_iter().map(|(op, outcomes)| (op, render(outcomes))).collect::<Map<_, _>>(),
        ),
    })))
}

/// The body an operation answers alone, in its own family's shape.
fn body_of(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Generated(Ok(token)) => json!(GenerateCustomTokenResponse::ok(token)),
        Outcome::Generated(Err(e)) => json!(custom_token_failure(&e.info())),
        Outcome::Created(Ok(response)) => json!(response),
        Outcome::Created(Err(e)) => json!(api_error_body(&e.info())),
    }
}
