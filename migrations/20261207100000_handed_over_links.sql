-- An invitation link the SBM hands over in person, for staff without a working email:
-- single use, 24 hours, and the account's evidence names who handed it over.
alter table account_tokens drop constraint account_tokens_purpose_check,
    add constraint account_tokens_purpose_check
        check (purpose in ('invite', 'reset', 'email_change', 'sign_in', 'handover'));
alter table account_tokens add column issued_by uuid references users (id),
    add constraint account_tokens_handover_issuer check ((purpose = 'handover') = (issued_by is not null));
-- The person's evidence finds the password set from such a link by the link's id.
create index audit_events_password_set on audit_events (subject) where action = 'password_set';
