//! HTTP handlers, one module per resource. Each handler authenticates (`ServiceCaller`), parses
//! (`JsonBody`), applies the core rules, does its store work and shapes the answer.

pub mod custom_token;
pub mod health;
pub mod introspection;
pub mod jwks;
pub mod pipeline;
pub mod token_create;
pub mod token_manage;
