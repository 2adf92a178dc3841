//! One module per endpoint group. A route module decodes, calls one operation of an `App`
//! component and
//! renders; it never touches the store and never imports another route module (checked by the
//! tidy test in `tests/suite/tidy.rs`).

pub mod custom_token;
pub mod events;
pub mod health;
pub mod introspection;
pub mod keys;
pub mod oauth;
pub mod pipeline;
pub mod revocation;
pub mod ssf;
pub mod status_list;
pub mod tenancy;
pub mod token_create;
pub mod token_manage;
