//! The storage conformance suite: every behaviour of the storage interfaces the server relies on,
//! written once against [`Stores`] and run for each backend (`conformance_suite!` expands one
//! `#[tokio::test]` per case). A new backend is done when it passes all of them, races included.
//! The cases are by concern, as the backends are; this module holds what they share (the fixtures)
//! and the list that runs them.

use serde_json::json;
use token_core::grant::GrantType;
use token_core::property::Property;
use token_core::{ClientId, OrganizationId, ServiceId, TokenHash};

use super::*;
use token_core::keys::SignAlg;

type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

const NOW: i64 = 1_800_000_000_000;
const GRACE: i64 = 600_000;

/// What the suite's writes are recorded as: the command line, at [`NOW`].
fn audit() -> Audit {
    Audit::new(Actor::cli(), NOW)
}

fn new_service() -> ServiceSettings {
    ServiceSettings {
        name: "svc".into(),
        issuer: "https://issuer.example".into(),
        supported_scopes: vec!["read".into()],
        supported_grant_types: GrantType::ALL.to_vec(),
        access_token_duration: 3600,
        refresh_token_duration: 86_400,
        access_token_sign_alg: None,
        custom_token_access_ttl: 3600,
        custom_token_refresh_ttl: 7200,
        status_list_ttl: None,
        issuance_events: true,
    }
}

/// An organization with one service and its clients 7 and 8 (a token is stored only for a client
/// that exists; [`token`] names client 7).
async fn tenant(store: &Stores) -> Result<(OrganizationId, ServiceId), StoreError> {
    let (org, service) = bare_tenant(store).await?;
    with_clients(store, service).await?;
    Ok((org, service))
}

/// Gives `service` its clients 7 and 8.
async fn with_clients(store: &Stores, service: ServiceId) -> Result<(), StoreError> {
    for id in [7, 8] {
        store.clients.create_client(&client(service, id, None), &audit()).await?;
    }
    Ok(())
}

/// An organization with one service and no client.
async fn bare_tenant(store: &Stores) -> Result<(OrganizationId, ServiceId), StoreError> {
    let org = store.organizations.create_organization("org", NOW).await?;
    let service = store.services.create_service(org.id, &new_service(), NOW, &audit()).await?;
    Ok((org.id, service.id))
}

fn client(service: ServiceId, id: i64, alias: Option<&str>) -> ClientRecord {
    ClientRecord {
        client_id: ClientId(id),
        service_id: service,
        name: "client".into(),
        alias: alias.map(str::to_owned),
        entity_id: None,
        grant_types: GrantType::ALL.to_vec(),
    }
}

fn token(service: ServiceId, n: &str) -> TokenRecord {
    TokenRecord {
        refresh_hash: Some(h(&format!("refresh-{n}"))),
        subject: Some(format!("subject-{n}")),
        scopes: vec!["read".into()],
        refresh_scopes: Some(vec!["read".into()]),
        refresh_expires_at: Some(NOW + 86_400_000),
        properties: vec![Property { key: "k".into(), value: "v".into(), hidden: false }],
        ..TokenRecord::issued(
            format!("id-{n}"),
            service,
            ClientId(7),
            GrantType::AuthorizationCode,
            h(&format!("access-{n}")),
            NOW,
            NOW + 3_600_000,
        )
    }
}

/// A key record as a backend sees one: opaque private bytes and a public JWK (the store never
/// interprets either), unique per call.
fn key(service: ServiceId, created_at: i64) -> SigningKeyRecord {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let kid = format!("kid-{service}-{created_at}-{n}");
    SigningKeyRecord {
        kid: kid.clone(),
        service_id: service,
        alg: SignAlg::EdDsa,
        private_der: PrivateKeyDer(format!("private-{kid}").into_bytes()),
        public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": kid, "kid": kid}),
        created_at,
        retired_at: None,
        revoked_at: None,
    }
}

fn rotation(n: &str, now_ms: i64) -> Rotation {
    Rotation {
        new_access_hash: h(&format!("access-{n}")),
        new_refresh_hash: h(&format!("refresh-{n}")),
        access_expires_at: now_ms + 3_600_000,
        refresh_expires_at: now_ms + 86_400_000,
        jwt_kid: None,
        status: None,
        now_ms,
        per_minute: ROTATIONS_KEPT,
    }
}

/// The stored hash of a test token value.
fn h(value: &str) -> TokenHash {
    TokenHash::of(value)
}

fn err(e: StoreError) -> String {
    e.to_string()
}

mod credentials;
mod generated_values;
mod keys;
mod maintenance;
mod rotation;
mod single_use;
mod status_lists;
mod tenancy;
mod tokens;

pub use credentials::*;
pub use generated_values::*;
pub use keys::*;
pub use maintenance::*;
pub use rotation::*;
pub use single_use::*;
pub use status_lists::*;
pub use tenancy::*;
pub use tokens::*;

/// Expands to one `#[tokio::test]` per conformance case — every case of this module, listed here
/// once — each on a fresh store from `$open` (an async expression yielding
/// `Some((Stores, guard))`, the guard living as long as the test, or `None` when the
/// backend is not reachable here and the case is skipped). A backend cannot leave a case out.
#[macro_export]
macro_rules! conformance_suite {
    ($open:expr) => {
        $crate::conformance_suite!(@cases $open;
            organizations_round_trip,
            services_round_trip_and_filter,
            clients_by_id_alias_and_number,
            client_conflicts_name_what_conflicted,
            clients_are_scoped_by_service,
            chosen_identifiers_are_unique_per_service,
            clients_are_updated,
            status_indexes_are_reserved_without_overlap_and_lists_fill_up,
            every_end_of_a_listed_token_sets_its_bit,
            full_lists_whose_tokens_all_ended_are_retired_by_the_janitor,
            a_list_naming_a_persistent_jwt_is_never_retired,
            clients_of_a_subject_are_those_with_live_tokens,
            deleting_a_service_takes_what_it_has_and_nothing_else,
            credentials_by_hash_with_state,
            credential_hash_conflict,
            credential_and_service_in_one_call,
            credential_revocation_and_last_use,
            a_new_key_becomes_current_and_round_trips,
            rotation_retires_and_keeps_publishing_for_the_grace,
            a_retired_key_stays_published_while_its_tokens_live,
            retired_keys_leave_the_set_after_many_rotations,
            revoked_keys_are_neither_published_nor_verifying,
            verification_keys_are_current_and_recently_retired,
            keys_are_scoped_by_service,
            tokens_by_access_and_refresh_hash,
            token_conflicts_name_what_conflicted_and_write_nothing,
            tokens_are_scoped_by_service,
            list_filters_by_client_and_subject,
            list_pages_newest_first_with_the_total,
            list_continues_by_key_after_a_token,
            update_applies_changes_atomically,
            update_never_undoes_a_revocation,
            update_to_a_taken_value_conflicts,
            delete_removes_one_token,
            revoke_by_each_target,
            revoking_a_subject_reaches_every_client_and_no_other_subject,
            a_custom_token_is_redeemed_once,
            a_subject_cutoff_refuses_custom_tokens_generated_before_it,
            no_token_is_stored_or_rotated_with_a_revoked_key,
            a_family_keeps_its_last_rotations_and_a_bounded_rate,
            rotation_replaces_values_and_reuse_revokes_the_family,
            generated_values_are_found_by_their_selector_and_whole_hash,
            generated_values_rotate_update_revoke_and_delete,
            rotated_away_values_name_their_family_by_kind,
            a_proof_jti_is_used_once_and_the_janitor_forgets_it_after_expiry,
            concurrent_inserts_answer_each_conflict_and_store_the_rest,
            wide_revocations_and_service_rows_go_in_bounded_batches,
            token_values_are_unique_per_service_not_across_tenants,
            revoking_by_signing_key_reaches_both_kinds_in_batches,
            reuse_alone_is_detected_and_revokes,
            an_expired_refresh_token_does_not_rotate,
            expired_jtis_are_pruned_by_the_janitor_in_bounded_batches,
            service_settings_round_trip,
            service_settings_are_replaced,
            deleting_a_client_revokes_its_tokens_and_only_its_own,
            no_token_is_stored_for_a_deleted_client,
            every_token_column_round_trips,
            a_token_is_found_by_its_id_in_its_service_only,
            hash_kinds_never_cross,
            rotation_keeps_the_rest_of_the_token,
            a_revoked_token_does_not_refresh,
            update_removes_a_binding,
            a_persistent_token_keeps_its_key_published,
            credentials_are_listed_in_issue_order,
            ping_answers,
            the_first_start_is_all_or_nothing_and_made_once,
            the_janitor_removes_only_what_has_ended,
            the_janitor_works_in_batches_and_forgets_rotations_of_gone_tokens,
            deleting_a_token_forgets_its_rotations_and_the_janitor_spares_live_ones;
            races: custom_token_redemption_race_has_one_winner, refresh_rotation_race_has_one_winner,
                concurrent_inserts_conflict_alone, status_index_reservations_race_without_overlap,
                a_cutoff_racing_a_redemption_leaves_no_live_token,
                a_client_deleted_while_its_tokens_are_stored_leaves_none_live,
                a_service_deleted_during_mixed_inserts_costs_the_others_nothing);
    };
    (@cases $open:expr; $($case:ident),* $(,)?; races: $($race:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $open.await else { return };
                if let Err(problem) = $crate::store::conformance::$case(&store).await {
                    panic!("{}: {problem}", stringify!($case));
                }
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $race() {
                let Some((store, _guard)) = $open.await else { return };
                if let Err(problem) = $crate::store::conformance::$race(store).await {
                    panic!("{}: {problem}", stringify!($race));
                }
            }
        )*
    };
}
