-- Identifiers a tenant chooses or sees are unique per service, never across tenants: a client ID
-- taken by another organization must neither be refused ("the client ID is taken": an existence
-- oracle, and squatting on IDs another tenant migrates) nor a DPoP proof `jti` or a rotated-away
-- token value of one service collide with another's. Same constraint names: a conflict is still
-- recognised for what it is.
ALTER TABLE clients DROP CONSTRAINT clients_pkey;
ALTER TABLE clients ADD CONSTRAINT clients_pkey PRIMARY KEY (service_id, client_id);
ALTER TABLE dpop_proof_uses DROP CONSTRAINT dpop_proof_uses_pkey;
ALTER TABLE dpop_proof_uses ADD CONSTRAINT dpop_proof_uses_pkey PRIMARY KEY (service_id, jti);
ALTER TABLE rotated_refresh_tokens DROP CONSTRAINT rotated_refresh_tokens_pkey;
ALTER TABLE rotated_refresh_tokens ADD CONSTRAINT rotated_refresh_tokens_pkey PRIMARY KEY (service_id, hash);

-- Deleting a service deletes its redeemed custom-token jtis a bounded batch at a time, found
-- through this index (the primary key is the jti alone: the server makes it, unique everywhere).
CREATE INDEX IF NOT EXISTS custom_token_uses_service ON custom_token_uses(service_id);
