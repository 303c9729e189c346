//! Lists at school size: the people list, a dashboard's outstanding list and the audit log
//! show 50 to a page, in a stable order, with real links to the other pages.

use reqwest::StatusCode;

use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";

/// 120 more staff at Cranbrook, whose first names run the other way from their surnames:
/// "F199 S001" comes first by surname and last by first name.
pub(crate) async fn staff_of_120(pool: &sqlx::PgPool) {
    sqlx::query(
        "with u as (insert into users (email, full_name, signing_name, surname, password_hash)
                      select 'ta' || i || '@cranbrook.example',
                             'F' || lpad((200 - i)::text, 3, '0') || ' S' || lpad(i::text, 3, '0'),
                             'F' || lpad((200 - i)::text, 3, '0') || ' S' || lpad(i::text, 3, '0'),
                             'S' || lpad(i::text, 3, '0'),
                             (select password_hash from users where email = 'staff@cranbrook.example')
                      from generate_series(1, 120) i returning id)
         insert into memberships (user_id, school_id, grp, job_title, roles)
         select u.id, s.id, 'staff', 'Teaching assistant', '{signer}' from u, schools s
         where s.slug = 'cranbrook'",
    )
    .execute(pool)
    .await
    .expect("120 staff");
}

/// The names in a list's rows, in order.
fn names(page: &Page) -> Vec<String> {
    page.body
        .split("<td data-label=\"Name\"><a href=\"/s/cranbrook/people/")
        .skip(1)
        .filter_map(|row| row.split('>').nth(1)?.split('<').next())
        .map(str::to_owned)
        .collect()
}

/// The address of the "Next page" link, if there is one.
fn next_link(page: &Page) -> Option<String> {
    let before = page.body.split("\" rel=\"next\">Next").next()?;
    if before.len() == page.body.len() {
        return None;
    }
    Some(
        before
            .rsplit("<a href=\"")
            .next()?
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn the_people_list_shows_50_to_a_page_in_surname_order_with_its_filters_kept() {
    let app = spawn_app().await;
    staff_of_120(&app.pool).await;
    app.sign_in(SBM).await;
    let expected: Vec<String> = sqlx::query_scalar(
        "select u.full_name from memberships m join users u on u.id = m.user_id
         join schools s on s.id = m.school_id
         where s.slug = 'cranbrook' and m.grp = 'staff'
         order by lower(u.surname), lower(u.full_name), u.email",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let total = expected.len();
    assert!(total > 120, "{total}");

    // Follow "Next" from the first page to the last: each person once, in surname order.
    let mut seen = Vec::new();
    let mut address = "/s/cranbrook/people?group=staff&marked_left=2".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&address).await;
        assert_eq!(page.status, StatusCode::OK, "{address}");
        pages += 1;
        page.assert_contains(&format!("<p role=\"status\">{total} people</p>"));
        page.assert_contains(&format!(
            "Showing {} to {} of {total} people",
            seen.len() + 1,
            (seen.len() + 50).min(total)
        ));
        let shown = names(&page);
        assert!(shown.len() <= 50 && !shown.is_empty(), "{}", shown.len());
        seen.extend(shown);
        match next_link(&page) {
            Some(next) => {
                // The filter carries over; the notice of an earlier action does not.
                assert!(next.contains("group=staff"), "{next}");
                assert!(!next.contains("marked_left"), "{next}");
                address = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, total.div_ceil(50));
    assert_eq!(seen, expected);
    assert_eq!(seen[0], "F199 S001", "by surname, not by first name");

    // A page beyond the end, or not a page number, is the first page.
    for odd in ["page=999", "page=two", "page=-1"] {
        let page = app
            .get(&format!("/s/cranbrook/people?group=staff&{odd}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{odd}");
        assert_eq!(names(&page), expected[..50], "{odd}");
    }
}

#[tokio::test]
async fn a_long_outstanding_list_and_the_audit_log_come_50_to_a_page() {
    let app = spawn_app().await;
    staff_of_120(&app.pool).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let dashboard = format!("/s/cranbrook/compliance/{version}");
    let first = app.get(&dashboard).await;
    let outstanding = first
        .body
        .split("<h2 id=\"outstanding\">Outstanding (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the outstanding count");
    assert!(outstanding > 120, "{outstanding}");
    assert_eq!(names(&first).len(), 50);
    let next = next_link(&first).expect("a next page");
    assert_eq!(next, format!("{dashboard}?page=2#outstanding"));
    let mut seen = names(&first);
    for n in 2..=outstanding.div_ceil(50) {
        let page = app.get(&format!("{dashboard}?page={n}")).await;
        page.assert_contains(&format!(
            "Showing {} to {} of {outstanding} people outstanding",
            (n - 1) * 50 + 1,
            (n * 50).min(outstanding)
        ));
        // Ticking people on a later page and choosing nobody comes back to the same page.
        page.assert_contains(&format!("/check-reminders?page={n}\""));
        seen.extend(names(&page));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (outstanding, outstanding));

    // The audit log: 70 more events, newest (the last recorded) first, 50 to a page.
    sqlx::query(
        "insert into audit_events (school_id, action, subject)
         select s.id, 'test_event', 'event ' || i
         from schools s, generate_series(1, 70) i where s.slug = 'cranbrook'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    add_cranbrook_admin(&app).await;
    let admin = app.another();
    admin.sign_in(ADMIN).await;
    let log = admin
        .visit("/s/cranbrook/admin/audit?action=test_event")
        .await;
    log.assert_contains("Showing 1 to 50 of 70 events");
    log.assert_contains(">event 70 </td>");
    log.assert_contains(">event 21 </td>");
    assert!(!log.body.contains(">event 20 </td>"));
    let next = next_link(&log).expect("a next page");
    assert_eq!(next, "/s/cranbrook/admin/audit?action=test_event&page=2");
    let older = admin.visit(&next).await;
    older.assert_contains("Showing 51 to 70 of 70 events");
    older.assert_contains(">event 20 </td>");
    older.assert_contains(">event 1 </td>");
    assert!(!older.body.contains(">event 21 </td>"));
    assert!(next_link(&older).is_none());
}

#[tokio::test]
async fn the_audit_log_filters_by_person_and_dates_and_downloads_what_it_shows() {
    let app = spawn_app().await;
    let sam = app.another();
    sam.sign_in(STAFF).await;
    sign_cranbrook(&sam).await;
    add_cranbrook_admin(&app).await;
    app.sign_in(ADMIN).await;
    let sam_id: uuid::Uuid = sqlx::query_scalar("select id from users where email = $1")
        .bind(STAFF)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let who = |page: &Page| -> Vec<String> {
        page.body
            .split("<td data-label=\"Who\">")
            .skip(1)
            .filter_map(|cell| cell.split('<').next())
            .map(str::to_owned)
            .collect()
    };
    let everyone = app.get("/s/cranbrook/admin/audit").await;
    assert!(who(&everyone).contains(&"Chris Patel".to_owned()));

    // Sam's doings only: their sign-in and their signature.
    let sams = app
        .get(&format!("/s/cranbrook/admin/audit?person={sam_id}"))
        .await;
    let shown = who(&sams);
    assert!(shown.len() >= 2, "{shown:?}");
    assert!(shown.iter().all(|w| w == "Sam Taylor"), "{shown:?}");
    sams.assert_contains("Signed a policy online");
    sams.assert_contains(&format!(
        r#"<option value="{sam_id}" selected>Sam Taylor</option>"#
    ));

    // Dates, in UK days: today holds everything, tomorrow nothing.
    let today = aup_portal::clock::today_uk();
    let day = |field: &str, date: time::Date| {
        format!(
            "{field}_day={}&{field}_month={}&{field}_year={}",
            date.day(),
            u8::from(date.month()),
            date.year()
        )
    };
    let tomorrow = today.next_day().unwrap();
    let today_only = app
        .get(&format!(
            "/s/cranbrook/admin/audit?{}&{}",
            day("from", today),
            day("to", today)
        ))
        .await;
    assert_eq!(who(&today_only), who(&everyone));
    let none = app
        .get(&format!(
            "/s/cranbrook/admin/audit?{}",
            day("from", tomorrow)
        ))
        .await;
    assert_eq!(who(&none), Vec::<String>::new());
    none.assert_contains("<p role=\"status\">0 events");

    // A date that cannot be read is said next to its field, and filters nothing.
    let bad = app
        .visit("/s/cranbrook/admin/audit?from_day=31&from_month=2&from_year=2026")
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains(r##"<a href="#from">The first day must be a real date</a>"##);
    bad.assert_contains(r#"<p id="from-error" class="error-message">"#);
    bad.assert_contains(r#"value="31""#);
    assert_eq!(who(&bad), who(&everyone));
    let backwards = app
        .visit(&format!(
            "/s/cranbrook/admin/audit?{}&{}",
            day("from", tomorrow),
            day("to", today)
        ))
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    backwards.assert_contains("The last day must be the same as or after the first day");

    // The download has what the filters show, and is itself in the log.
    let response = app
        .client
        .get(app.url(&format!(
            "/s/cranbrook/admin/audit/export.csv?person={sam_id}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("When,Who,What,Action,Subject,Details"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), shown.len(), "{csv}");
    assert!(rows.iter().all(|r| r.contains(",Sam Taylor,")), "{csv}");
    assert!(
        csv.contains(",Signed a policy online,agreement_signed,"),
        "{csv}"
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'audit_log_exported'")
            .await,
        1
    );
    app.get("/s/cranbrook/admin/audit")
        .await
        .assert_contains(&format!("Exported the audit log: {} events", rows.len()));
}

#[tokio::test]
async fn a_filtered_people_list_downloads_as_csv_and_xlsx_with_no_formula_in_either() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    add_member(
        &app,
        "cranbrook",
        "ta@cranbrook.example",
        "=HYPERLINK(\"http://x.example\",\"Pat\") Lee",
        "staff",
        "@SUM(A1)",
        "{signer}",
    )
    .await;
    app.sign_in(SBM).await;
    let staff = app
        .count(
            "select count(*) from memberships m join schools s on s.id = m.school_id
             where s.slug = 'cranbrook' and m.grp = 'staff'",
        )
        .await;
    let people = app.get("/s/cranbrook/people?group=staff&page=1").await;
    people.assert_contains(
        r#"href="/s/cranbrook/people/export.xlsx?group=staff" download>Excel (XLSX)</a>"#,
    );

    let get = |path: &'static str| {
        let app = &app;
        async move {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            (kind, response.bytes().await.unwrap())
        }
    };
    let (kind, csv) = get("/s/cranbrook/people/export.csv?group=staff").await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Name,Email,Group,Job title,Status");
    assert_eq!(lines.len() as i64, staff + 1, "{csv}");
    assert!(
        csv.contains(r#""'=HYPERLINK(""http://x.example"",""Pat"") Lee",ta@cranbrook.example,Staff,'@SUM(A1),Active"#),
        "{csv}"
    );
    assert!(!csv.contains("Governors"), "filtered: {csv}");

    let (kind, xlsx) = get("/s/cranbrook/people/export.xlsx?group=staff").await;
    assert_eq!(
        kind,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut workbook = Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).expect("an XLSX file");
    let sheet = workbook
        .worksheet_range("People")
        .expect("the People sheet");
    assert_eq!(sheet.height() as i64, staff + 1);
    let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(cells[0][0], Data::String("Name".into()));
    assert!(cells.iter().flatten().all(|c| matches!(c, Data::String(_))));
    let pat = cells
        .iter()
        .find(|row| row[1] == Data::String("ta@cranbrook.example".into()))
        .expect("Pat's row");
    assert_eq!(
        pat[0],
        Data::String(r#"'=HYPERLINK("http://x.example","Pat") Lee"#.into())
    );
    assert_eq!(pat[3], Data::String("'@SUM(A1)".into()));
    let formulas = workbook.worksheet_formula("People").expect("formulas");
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));

    assert_eq!(
        app.count("select count(*) from audit_events where action = 'people_exported'")
            .await,
        2
    );
}

#[tokio::test]
async fn the_outstanding_list_filters_by_group_and_job_title_and_reminds_only_who_matches() {
    let app = spawn_app().await;
    staff_of_120(&app.pool).await;
    app.sign_in(SBM).await;
    let version = app.version_id(CRANBROOK).await;
    let dashboard = format!("/s/cranbrook/compliance/{version}");
    let all = app.get(&dashboard).await;
    all.assert_contains(r#"<option value="governor">Governors</option>"#);
    all.assert_contains(r#"<option value="Teaching assistant">Teaching assistant</option>"#);
    all.assert_contains("Remind everyone outstanding");
    let outstanding = names(&all).len();

    let tas = app
        .get(&format!(
            "{dashboard}?group=staff&job_title=Teaching+assistant"
        ))
        .await;
    tas.assert_contains("120 of ");
    tas.assert_contains("outstanding match Staff, Teaching assistant.");
    tas.assert_contains("Remind all 120 who match");
    assert!(
        names(&tas).iter().all(|n| n.starts_with('F')),
        "only the assistants"
    );
    assert_eq!(
        next_link(&tas).as_deref(),
        Some(
            format!("{dashboard}?group=staff&job_title=Teaching+assistant&page=2#outstanding")
                .as_str()
        )
    );
    // An unknown group filters nothing.
    assert_eq!(
        names(&app.get(&format!("{dashboard}?group=pirates")).await).len(),
        outstanding
    );
    let nobody = app.get(&format!("{dashboard}?job_title=Caretaker")).await;
    nobody.assert_contains("Nobody outstanding matches Caretaker.");

    // "Remind everyone" while the governors are shown: the governors only.
    let check = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/check-reminders?group=governor"),
            &[("scope", "all")],
        )
        .await;
    check.assert_contains("Remind 1 person to sign?");
    check.assert_contains("Everyone outstanding who matches the filters: Governors.");
    check.assert_contains(&format!(
        r#"action="/s/cranbrook/compliance/{version}/remind?group=governor""#
    ));
    let sent = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind?group=governor"),
            &[],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let back = sent.location().unwrap().to_owned();
    assert!(
        back.contains("group=governor&reminded=1&skipped=0"),
        "{back}"
    );
    let reminded: Vec<String> = sqlx::query_scalar(
        "select u.email from reminders r join memberships m on m.id = r.membership_id
         join users u on u.id = m.user_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(reminded, [GOVERNOR]);
    let shown = app.get(&back).await;
    shown.assert_contains("1 reminder is queued");
    shown.assert_contains(r#"<option value="governor" selected>Governors</option>"#);

    // A Remind button on a filtered second page comes back to it.
    let ta = membership(&app, "ta1@cranbrook.example").await;
    let one = app
        .post(
            &format!("/s/cranbrook/compliance/{version}/remind/{ta}?group=staff&page=2"),
            &[],
        )
        .await;
    assert!(
        one.location()
            .unwrap()
            .contains("?group=staff&page=2&reminded=1"),
        "{:?}",
        one.location()
    );
}
