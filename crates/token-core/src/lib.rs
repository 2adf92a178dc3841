//! # token-core
//!
//! The wire models, validation rules and result codes of the token service, shared by
//! `token-server` and `token-client`. Pure by design: no I/O, no async runtime, no HTTP stack —
//! so every rule is a function of its inputs and is property-tested in milliseconds.
//! (`cargo xtask test` fails if a forbidden dependency or `std::fs`/`std::net` appears here.)
//!
//! One module per resource: [`token_create`] (`004_…`), [`token_manage`] (list, update, delete,
//! revoke), [`introspection`], [`custom_token`] (`000_…`); the vocabulary they share in modules
//! named for what it is: [`grant`], [`property`], [`authorization_details`], [`error_body`].

#![warn(missing_docs)]

pub mod api;
pub mod authorization_details;
pub mod bearer;
pub mod custom_token;
pub mod error;
pub mod error_body;
pub mod events;
pub mod grant;
pub mod ids;
pub mod introspection;
pub mod json;
pub mod keys;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod property;
pub mod result_code;
pub mod revocation;
pub mod secret;
pub mod ssf;
pub mod status_list;
pub mod tenancy;
pub mod token_create;
pub mod token_manage;
pub mod token_value;
pub mod validate;

pub use error::ValidationError;
pub use ids::{ClientId, OrganizationId, ServiceId, Subject, TokenId};
pub use result_code::{Action, ResultCode};
pub use secret::{Secret, TokenHash};
