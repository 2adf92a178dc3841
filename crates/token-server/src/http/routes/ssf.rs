//! The Shared Signals transmitter (SSF 1.0): its metadata, streams, status, verification and
//! RFC 8936 polling. Each handler decodes, makes one call to `service::ssf`, renders.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use token_core::api::NoContent;
use token_core::ssf::{
    SsfConfiguration, StreamCreate, StreamDelete, StreamGet, StreamIdQuery, StreamPoll, StreamQuery,
    StreamReplace, StreamStatusGet, StreamStatusUpdate, StreamUpdate, StreamVerify,
};

use crate::http::auth::{ServiceCaller, published_base};
use crate::http::decode::RequestBody;
use crate::http::endpoint::{Failure, Reply};
use crate::http::error::HttpError;
use crate::service::App;

fn query(query: Result<Query<StreamQuery>, QueryRejection>) -> Result<StreamQuery, HttpError> {
    query.map(|Query(q)| q).map_err(|e| HttpError::Query(e.body_text()))
}

fn id_query(query: Result<Query<StreamIdQuery>, QueryRejection>) -> Result<StreamQuery, HttpError> {
    query
        .map(|Query(q)| StreamQuery { stream_id: Some(q.stream_id) })
        .map_err(|e| HttpError::Query(e.body_text()))
}

pub async fn configuration(
    State(app): State<App>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Reply<SsfConfiguration>, Failure<SsfConfiguration>> {
    let service = app.authentication().public_service(&raw).await?.id;
    Ok(Reply::new(app.ssf().metadata(service, &published_base(&app, &headers)?).await?))
}

pub async fn create(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    headers: HeaderMap,
    RequestBody(body, ..): RequestBody<StreamCreate>,
) -> Result<Reply<StreamCreate>, Failure<StreamCreate>> {
    // SSF 1.0 §8.1.1.1: 201 Created (`StreamCreate`'s success status).
    Ok(Reply::new(app.ssf().create(caller.service.id, &published_base(&app, &headers)?, &body).await?))
}

pub async fn read(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    raw: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Reply<StreamGet>, Failure<StreamGet>> {
    Ok(Reply::new(app.ssf().read(caller.service.id, &query(raw)?).await?))
}

pub async fn update(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<StreamUpdate>,
) -> Result<Reply<StreamUpdate>, Failure<StreamUpdate>> {
    Ok(Reply::new(app.ssf().update(caller.service.id, &body, false).await?))
}

pub async fn replace(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<StreamReplace>,
) -> Result<Reply<StreamReplace>, Failure<StreamReplace>> {
    Ok(Reply::new(app.ssf().update(caller.service.id, &body, true).await?))
}

pub async fn delete(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    raw: Result<Query<StreamIdQuery>, QueryRejection>,
) -> Result<Reply<StreamDelete>, Failure<StreamDelete>> {
    app.ssf().delete(caller.service.id, &id_query(raw)?).await?;
    Ok(Reply::new(NoContent))
}

pub async fn status(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    raw: Result<Query<StreamIdQuery>, QueryRejection>,
) -> Result<Reply<StreamStatusGet>, Failure<StreamStatusGet>> {
    Ok(Reply::new(app.ssf().status(caller.service.id, &id_query(raw)?).await?))
}

pub async fn set_status(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<StreamStatusUpdate>,
) -> Result<Reply<StreamStatusUpdate>, Failure<StreamStatusUpdate>> {
    Ok(Reply::new(app.ssf().set_status(caller.service.id, &body).await?))
}

pub async fn verify(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    RequestBody(body, ..): RequestBody<StreamVerify>,
) -> Result<Reply<StreamVerify>, Failure<StreamVerify>> {
    app.ssf().verify(caller.service.id, &body).await?;
    Ok(Reply::new(NoContent))
}

pub async fn poll(
    State(app): State<App>,
    ServiceCaller(caller): ServiceCaller,
    Path((_, stream_id)): Path<(String, String)>,
    RequestBody(body, ..): RequestBody<StreamPoll>,
) -> Result<Reply<StreamPoll>, Failure<StreamPoll>> {
    Ok(Reply::new(app.ssf().poll(caller.service.id, &stream_id, &body).await?))
}
