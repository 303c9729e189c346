use super::*;

#[test]
fn an_event_reads_back_as_itself_from_its_row() {
    let membership_id = Uuid::from_u128(7);
    let events = [
        Event::SignIn {
            with: SignInWith::PasswordAndRecoveryCode,
        },
        Event::AccountLocked,
        Event::SignInFailed { at: None },
        Event::EmailChanged {
            membership_id: None,
            email_change: Uuid::from_u128(3),
            how: EmailChangeHow::Own,
        },
        Event::EmailChanged {
            membership_id: Some(membership_id),
            email_change: Uuid::from_u128(3),
            how: EmailChangeHow::Correction,
        },
        Event::RolesChanged {
            membership_id,
            from: vec![Role::Signer],
            to: vec![Role::Signer, Role::Sbm],
        },
        Event::AccessDenied {
            path: "/s/cranbrook/people".to_owned(),
        },
        Event::VersionCreated {
            policy_name: "Staff AUP".to_owned(),
            policy_id: Uuid::from_u128(1),
            version_id: Uuid::from_u128(2),
            label: "2026-27".to_owned(),
            from: None,
        },
        Event::SignByDateSet {
            policy_name: "Staff AUP".to_owned(),
            policy_id: Uuid::from_u128(1),
            version_id: Uuid::from_u128(2),
            label: "2026-27".to_owned(),
            sign_by: "2027-01-31".to_owned(),
            previous: Some("2027-01-15".to_owned()),
        },
    ];
    for event in events {
        let row = event.row().unwrap();
        assert!(row.details.get("subject").is_none(), "{event:?}");
        assert!(row.details.get("action").is_none(), "{event:?}");
        assert_eq!(
            Logged::read(&row.action, &row.subject, &row.details),
            Logged::Known(event)
        );
    }
}

#[test]
fn a_row_keeps_the_words_stored_before_events_were_a_type() {
    let row = Event::RolesChanged {
        membership_id: Uuid::from_u128(7),
        from: vec![Role::Signer],
        to: vec![Role::Dpo],
    }
    .row()
    .unwrap();
    assert_eq!(row.action, "roles_changed");
    assert_eq!(row.subject, Uuid::from_u128(7).to_string());
    assert_eq!(
        row.details,
        serde_json::json!({ "from": ["signer"], "to": ["dpo"] })
    );
    // A row written before: the version's label and its audience, as then stored.
    let old = serde_json::json!({
        "policy_id": Uuid::from_u128(1), "version_id": Uuid::from_u128(2),
        "label": "2025-26", "content_sha256": "ab", "superseded": null,
        "notified": 3, "audience": ["staff", "governor"],
    });
    assert_eq!(
        Logged::read("version_published", &Uuid::from_u128(2).to_string(), &old).sentence(),
        "Published version 2025-26 and asked 3 people to sign it"
    );
}

#[test]
fn a_row_the_portal_does_not_know_is_shown_by_its_action() {
    let unknown = Logged::read("test_event", "", &serde_json::json!({}));
    assert_eq!(unknown, Logged::Unknown("test_event".to_owned()));
    assert_eq!(unknown.to_string(), "Test event");
    // A known action whose details do not fit is not guessed at either.
    let odd = Logged::read("roles_changed", "x", &serde_json::json!({ "from": 1 }));
    assert_eq!(odd.sentence(), "Roles changed");
}

#[test]
fn a_leaver_is_logged_with_the_leaving_date_and_older_rows_without_one_still_read() {
    let subject = Uuid::from_u128(9).to_string();
    let with_date = serde_json::json!({ "left_on": "2026-08-31" });
    assert_eq!(
        Logged::read("person_left", &subject, &with_date).sentence(),
        "Marked a person as left on 31 August 2026"
    );
    assert_eq!(
        Logged::read("person_left", &subject, &serde_json::json!({})).sentence(),
        "Marked a person as left"
    );
}

#[test]
fn a_sign_by_date_is_said_in_words_and_publishing_before_it_existed_still_reads() {
    let moved = Event::SignByDateSet {
        policy_name: "Staff AUP".to_owned(),
        policy_id: Uuid::from_u128(1),
        version_id: Uuid::from_u128(2),
        label: "2026-27".to_owned(),
        sign_by: "2027-01-31".to_owned(),
        previous: Some("2027-01-15".to_owned()),
    };
    assert_eq!(
        moved.to_string(),
        "Moved the date to sign version 2026-27 by from 15 January 2027 to 31 January 2027"
    );
    let details = serde_json::json!({
        "policy_id": Uuid::from_u128(1), "version_id": Uuid::from_u128(2), "label": "2026-27",
        "content_sha256": "ab", "superseded": null, "notified": 3, "audience": ["staff"]
    });
    assert_eq!(
        Logged::read("version_published", "x", &details).to_string(),
        "Published version 2026-27 and asked 3 people to sign it"
    );
}
