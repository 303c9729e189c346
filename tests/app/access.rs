//! Every route, called as every kind of person: anonymous, a member of staff, a governor,
//! the SBM, the head, the DPO, an admin, and someone holding every role at another school.
//! Only the people a page is for get it. Everyone else is sent to sign in (anonymous), told
//! it does not exist (404: another school's pages, someone else's receipt), or refused (403:
//! a member of the school without the role), exactly.

use reqwest::StatusCode;

use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Staff,
    Governor,
    Sbm,
    Head,
    Dpo,
    Admin,
    OtherSchool,
}

use Who::*;

const EVERYONE_HERE: &[Who] = &[Staff, Governor, Sbm, Head, Dpo, Admin];

fn email(who: Who) -> Option<&'static str> {
    match who {
        Anonymous => None,
        Staff => Some(STAFF),
        Governor => Some(GOVERNOR),
        Sbm => Some("sbm@cranbrook.example"),
        Head => Some("head@cranbrook.example"),
        Dpo => Some("dpo@cranbrook.example"),
        Admin => Some(ADMIN),
        OtherSchool => Some("all@oakfield.example"),
    }
}

/// What is wrong with `page`'s security headers, if anything: every answer of the portal,
/// page or refusal, forbids framing, carries the CSP and is never stored.
fn header_problem(page: &Page) -> Option<String> {
    let header = |name: &str| page.headers.get(name).and_then(|v| v.to_str().ok());
    let csp = header("content-security-policy").unwrap_or("");
    let problems: Vec<&str> = [
        (header("x-frame-options") == Some("DENY"), "X-Frame-Options"),
        (
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "Content-Security-Policy",
        ),
        (header("cache-control") == Some("no-store"), "Cache-Control"),
        (
            header("x-content-type-options") == Some("nosniff"),
            "X-Content-Type-Options",
        ),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, name)| name)
    .collect();
    (!problems.is_empty()).then(|| problems.join(", "))
}

#[tokio::test]
async fn each_route_answers_only_the_people_it_is_for() {
    // Hundreds of requests from one address: the per-address limit, tested on its own, must
    // not answer for the role checks this test is about.
    let app = spawn_app_with(|s| s.attempts_per_minute = 10_000).await;
    add_member(
        &app,
        "cranbrook",
        "head@cranbrook.example",
        "Dana Hughes",
        "staff",
        "Headteacher",
        "{signer,head}",
    )
    .await;
    add_cranbrook_admin(&app).await;
    add_member(
        &app,
        "oakfield",
        "all@oakfield.example",
        "Lee Grant",
        "staff",
        "Everything",
        "{signer,sbm,head,dpo,admin}",
    )
    .await;

    // Ids to use: a version, Sam's agreement, a draft, Alex's membership, a queued email, a scan.
    let sam = app.another();
    sam.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let fields = cranbrook_signature(&sam).await;
    let agreement = sam
        .post(
            &format!("/s/cranbrook/versions/{version}/sign"),
            &as_form(&fields),
        )
        .await
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let policy: uuid::Uuid = sqlx::query_scalar("select id from policies where name = $1")
        .bind(CRANBROOK)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // A person who has never set a password, so "invite" would send them a link.
    add_member(
        &app,
        "cranbrook",
        "new@cranbrook.example",
        "Nia Evans",
        "staff",
        "Teaching assistant",
        "{signer}",
    )
    .await;
    sqlx::query("update users set password_hash = null where email = 'new@cranbrook.example'")
        .execute(&app.pool)
        .await
        .unwrap();
    let newcomer = membership(&app, "new@cranbrook.example").await;
    // A failed email, so "retry" would queue it again.
    sqlx::query("update outbox set status = 'failed', last_error = 'refused' where id = (select id from outbox limit 1)")
        .execute(&app.pool)
        .await
        .unwrap();
    let (draft, alex, email_id, scan): (uuid::Uuid, uuid::Uuid, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "with d as (insert into policy_versions (policy_id, school_id, label, title, body_md)
                    select id, school_id, '2099-00', 'Draft', '- x' from policies where name = 'Staff and Governors AUP'
                    returning id),
              s as (insert into scans (school_id, content_type, sha256, size_bytes, bytes, uploaded_by)
                    select id, 'image/png', repeat('a', 64), 1, '\\x89', (select id from users where email = 'sbm@cranbrook.example')
                    from schools where slug = 'cranbrook' returning id)
         select d.id, (select m.id from memberships m join users u on u.id = m.user_id where u.email = 'governor@cranbrook.example'),
                (select id from outbox where status = 'failed'), s.id from d, s",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let receipt = format!("/s/cranbrook/agreements/{agreement}");
    let policies: &[Who] = &[Dpo, Admin];
    let managers: &[Who] = &[Sbm, Admin];
    let viewers: &[Who] = &[Sbm, Head, Admin];
    let admins: &[Who] = &[Admin];
    let signers: &[Who] = &[Staff, Governor, Sbm, Head];
    let gets: Vec<(String, &[Who])> = vec![
        ("/s/cranbrook/".into(), EVERYONE_HERE),
        (format!("/s/cranbrook/versions/{version}/sign"), signers),
        (receipt.clone(), &[Staff]),
        ("/s/cranbrook/policies".into(), policies),
        ("/s/cranbrook/policies/new".into(), policies),
        (format!("/s/cranbrook/policies/{policy}"), policies),
        (format!("/s/cranbrook/policies/{policy}/audience"), policies),
        (format!("/s/cranbrook/policies/{policy}/import"), policies),
        (format!("/s/cranbrook/policies/{policy}/history"), policies),
        (
            format!("/s/cranbrook/policies/{policy}/compare?from={version}&to={draft}"),
            policies,
        ),
        (format!("/s/cranbrook/drafts/{draft}"), policies),
        (format!("/s/cranbrook/drafts/{draft}/preview"), policies),
        (format!("/s/cranbrook/drafts/{draft}/delete"), policies),
        (format!("/s/cranbrook/drafts/{draft}/publish"), policies),
        ("/s/cranbrook/compliance".into(), viewers),
        (format!("/s/cranbrook/compliance/{version}"), viewers),
        (
            format!("/s/cranbrook/compliance/{version}/export.csv"),
            viewers,
        ),
        ("/s/cranbrook/people".into(), managers),
        ("/s/cranbrook/people/export.csv".into(), managers),
        ("/s/cranbrook/people/export.xlsx".into(), managers),
        ("/s/cranbrook/people/new".into(), managers),
        ("/s/cranbrook/people/import".into(), managers),
        (format!("/s/cranbrook/people/{alex}"), viewers),
        (format!("/s/cranbrook/people/{alex}/edit"), managers),
        (format!("/s/cranbrook/people/{alex}/paper"), managers),
        (format!("/s/cranbrook/people/{alex}/evidence"), viewers),
        (format!("/s/cranbrook/people/{alex}/evidence.csv"), viewers),
        (format!("/s/cranbrook/people/{alex}/email"), admins),
        (format!("/s/cranbrook/scans/{scan}"), viewers),
        ("/s/cranbrook/admin/mail".into(), admins),
        ("/s/cranbrook/admin/audit".into(), admins),
        ("/s/cranbrook/admin/audit/export.csv".into(), admins),
        ("/s/cranbrook/admin/settings".into(), admins),
    ];
    let posts: Vec<(String, &[Who])> = vec![
        (format!("/s/cranbrook/versions/{version}/sign"), signers),
        ("/s/cranbrook/policies/new".into(), policies),
        (format!("/s/cranbrook/policies/{policy}/audience"), policies),
        (format!("/s/cranbrook/policies/{policy}/versions"), policies),
        (format!("/s/cranbrook/policies/{policy}/import"), policies),
        (format!("/s/cranbrook/drafts/{draft}"), policies),
        (format!("/s/cranbrook/drafts/{draft}/delete"), policies),
        (format!("/s/cranbrook/drafts/{draft}/publish"), policies),
        (
            format!("/s/cranbrook/compliance/{version}/remind"),
            managers,
        ),
        (
            format!("/s/cranbrook/compliance/{version}/remind/{alex}"),
            managers,
        ),
        (
            format!("/s/cranbrook/compliance/{version}/check-reminders"),
            managers,
        ),
        (
            format!("/s/cranbrook/compliance/{version}/remind-selected"),
            managers,
        ),
        ("/s/cranbrook/people/new".into(), managers),
        ("/s/cranbrook/people/leave-selected".into(), managers),
        (
            "/s/cranbrook/people/leave-selected/confirm".into(),
            managers,
        ),
        ("/s/cranbrook/people/import".into(), managers),
        ("/s/cranbrook/people/import/confirm".into(), managers),
        (format!("/s/cranbrook/people/{alex}/edit"), managers),
        (format!("/s/cranbrook/people/{alex}/leave"), managers),
        (format!("/s/cranbrook/people/{alex}/reactivate"), managers),
        (format!("/s/cranbrook/people/{newcomer}/invite"), managers),
        (format!("/s/cranbrook/people/{alex}/paper"), managers),
        (format!("/s/cranbrook/people/{alex}/email"), admins),
        (format!("/s/cranbrook/admin/mail/{email_id}/retry"), admins),
        ("/s/cranbrook/admin/settings".into(), admins),
    ];

    let mut wrong = Vec::new();
    for who in [
        Anonymous,
        Staff,
        Governor,
        Sbm,
        Head,
        Dpo,
        Admin,
        OtherSchool,
    ] {
        let visitor = app.another();
        if let Some(email) = email(who) {
            visitor.sign_in(email).await;
        }
        // Anonymous people are sent to sign in; another school's pages do not exist for its
        // members; anyone else here without the role is refused.
        let refusal = match who {
            Anonymous => (StatusCode::SEE_OTHER, Some("/sign-in")),
            OtherSchool => (StatusCode::NOT_FOUND, None),
            _ => (StatusCode::FORBIDDEN, None),
        };
        let mut check = |method: &str, path: &str, page: &Page, allowed: bool| {
            if let Some(problem) = header_problem(page) {
                wrong.push(format!(
                    "{who:?} {method} {path}: missing or wrong {problem}"
                ));
            }
            let got = (page.status, page.location());
            // A receipt is its signer's alone: no role opens someone else's, so for everyone
            // else in the school it does not exist.
            let expected = match who {
                _ if allowed => (StatusCode::OK, None),
                Anonymous | OtherSchool => refusal,
                _ if path == receipt => (StatusCode::NOT_FOUND, None),
                _ => refusal,
            };
            if got != expected {
                wrong.push(format!(
                    "{who:?} {method} {path}: {got:?}, expected {expected:?}"
                ));
            }
        };
        for (path, allowed) in &gets {
            let page = visitor.get(path).await;
            check("GET", path, &page, allowed.contains(&who));
        }
        for (path, allowed) in &posts {
            if allowed.contains(&who) {
                continue; // what the allowed people may do is tested feature by feature
            }
            // Hidden fields naming a role or a school are ignored anyway.
            let page = visitor
                .post(
                    path,
                    &[
                        ("roles", "admin"),
                        ("school_id", "x"),
                        ("legal_forename", "Hijack"),
                        ("email", "h@x.example"),
                        ("grp", "staff"),
                    ],
                )
                .await;
            check("POST", path, &page, false);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Nothing changed for any of the refusals.
    assert_eq!(
        app.count("select count(*) from users where legal_forename = 'Hijack'")
            .await,
        0
    );
    assert_eq!(app.count("select count(*) from reminders").await, 0);
    assert_eq!(
        app.count("select count(*) from memberships where status = 'left'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from policy_versions where status = 'draft'")
            .await,
        1
    );
    assert!(
        app.count("select count(*) from audit_events where action = 'access_denied'")
            .await
            > 50
    );
}
