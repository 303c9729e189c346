-- The school's own wording of the privacy notice for staff; null keeps the portal's default.
alter table schools add column privacy_notice text
    check (privacy_notice is null or (privacy_notice <> '' and length(privacy_notice) <= 20000));
