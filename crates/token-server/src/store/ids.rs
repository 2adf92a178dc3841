//! The IDs the store chooses: a new organization's and a new service's. Every other random value
//! (token values and IDs, credential secrets, client IDs) is the service layer's
//! (`service::random`); these two are made here because the store's interface chooses them
//! ([`OrganizationStore::create_organization`](super::OrganizationStore::create_organization) and
//! [`ServiceStore::create_service`](super::ServiceStore::create_service) take none, and a collision
//! is the store's to report, as [`ConflictKind::Id`](super::ConflictKind::Id)), and the store never
//! reaches up into the service layer. One module, so that what they are made of is said once.

use rand::Rng;
use token_core::{OrganizationId, ServiceId};

/// A new organization's ID (a collision is a `Conflict(Id)`).
pub fn new_organization_id() -> OrganizationId {
    OrganizationId(rand::thread_rng().gen_range(1_000..1_000_000_000))
}

/// A new service's ID (nine or ten digits, as Authlete's).
pub fn new_service_id() -> ServiceId {
    ServiceId(rand::thread_rng().gen_range(100_000_000..10_000_000_000))
}
