//! The server's integration tests: one test binary (one compile and link), one module per area,
//! sharing the harness in `common`.
#![allow(dead_code)]

mod auth;
mod bad_input;
mod cli;
mod common;
mod cors;
mod custom_tokens;
mod denial_of_service;
mod deploy;
mod dpop_introspection;
mod durability;
mod events;
mod events_cli;
mod events_order;
mod events_types;
mod fairness;
mod fuzz_http;
mod hostile_input;
mod isolation;
mod metrics;
mod multi_instance;
mod openapi;
mod outage;
mod pki;
mod postgres_tls;
mod readme;
mod refresh_holder;
mod revocation_holes;
mod security;
mod service_clock;
mod soak;
mod ssf;
mod ssf_delivery;
mod status_list;
mod telemetry;
mod tenancy;
mod tidy;
mod tls_listener;
mod token_create;
mod token_manage;
