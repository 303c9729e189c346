-- Emailed sign-in links: single-use, 15 minutes, only their hash kept.
alter table account_tokens drop constraint account_tokens_purpose_check,
    add constraint account_tokens_purpose_check
        check (purpose in ('invite', 'reset', 'email_change', 'sign_in'));
