//! The name model: a legal forename, a preferred forename and a surname; pages show the
//! preferred name, lists sort by surname, and a signature must be the name to type.

use reqwest::StatusCode;
use sqlx::{Connection, PgConnection};

use crate::helpers::*;

const SBM: &str = "sbm@cranbrook.example";

#[tokio::test]
async fn pages_show_the_preferred_forename_and_the_signature_must_be_the_legal_name() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let added = app
        .post(
            "/s/cranbrook/people/new",
            &[
                ("legal_forename", "Samantha"),
                ("preferred_forename", "Sammy"),
                ("surname", "Adeyemi"),
                ("signing_name", ""),
                ("email", "samantha@cranbrook.example"),
                ("grp", "staff"),
                ("job_title", "Cover supervisor"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let stored: (String, String, String, String, String) = sqlx::query_as(
        "select full_name, legal_forename, preferred_forename, surname, signing_name
         from users where email = 'samantha@cranbrook.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        (
            "Sammy Adeyemi".into(),
            "Samantha".into(),
            "Sammy".into(),
            "Adeyemi".into(),
            "Samantha Adeyemi".into()
        )
    );
    let list = app.get("/s/cranbrook/people").await;
    list.assert_contains(">Sammy Adeyemi</a>");
    // Surname order: Adeyemi, Lee, Morgan, Shah, Taylor; not Alex, Jordan, Priya, Sam.
    let at = |name: &str| {
        list.body
            .find(&format!(">{name}</a>"))
            .unwrap_or_else(|| panic!("{name} is listed"))
    };
    let order = [
        "Sammy Adeyemi",
        "Jordan Lee",
        "Alex Morgan",
        "Priya Shah",
        "Sam Taylor",
    ];
    assert!(
        order.windows(2).all(|pair| at(pair[0]) < at(pair[1])),
        "the people page lists by surname"
    );
    let edit = app
        .get(&format!(
            "/s/cranbrook/people/{}/edit",
            membership(&app, "samantha@cranbrook.example").await
        ))
        .await;
    edit.assert_contains("Change Sammy Adeyemi's details");
    edit.assert_contains(r#"name="preferred_forename" type="text" value="Sammy""#);

    // The SBM says Sam Taylor signs as Samuel Taylor: "Sam Taylor" no longer signs.
    let sam = membership(&app, STAFF).await;
    let renamed = app
        .post(
            &format!("/s/cranbrook/people/{sam}/edit"),
            &[
                ("legal_forename", "Samuel"),
                ("preferred_forename", "Sam"),
                ("surname", "Taylor"),
                ("signing_name", "Samuel  Taylor"),
                ("email", STAFF),
                ("grp", "staff"),
                ("job_title", "Class teacher"),
                ("roles", "signer"),
            ],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    let signer = app.another();
    signer.sign_in(STAFF).await;
    let version = app.version_id(CRANBROOK).await;
    let path = format!("/s/cranbrook/versions/{version}/sign");
    let mut fields = cranbrook_signature(&app).await;
    let refused = signer.post(&path, &as_form(&fields)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("Enter your full name as your school has it: Samuel Taylor");
    assert_eq!(app.count("select count(*) from agreements").await, 0);
    for (key, value) in &mut fields {
        if *key == "full_name" {
            *value = "samuel taylor".into();
        }
    }
    let signed = signer.post(&path, &as_form(&fields)).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    // Pages still greet them by the name they go by.
    signer
        .get(signed.location().unwrap_or_default())
        .await
        .assert_contains("Sam Taylor");
}

#[tokio::test]
async fn a_name_needs_a_forename_or_surname_and_each_part_is_checked_next_to_its_field() {
    let app = spawn_app().await;
    app.sign_in(SBM).await;
    let form = |forename: &'static str, surname: &'static str| {
        vec![
            ("legal_forename", forename),
            ("surname", surname),
            ("email", "new@cranbrook.example"),
            ("grp", "staff"),
            ("roles", "signer"),
        ]
    };
    let empty = app.post("/s/cranbrook/people/new", &form(" ", "")).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    empty.assert_contains(
        r##"<a href="#legal_forename">Enter the person&#39;s first name and surname</a>"##,
    );
    let long = "x".repeat(101);
    let long: &'static str = long.leak();
    let too_long = app.post("/s/cranbrook/people/new", &form("Jo", long)).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    too_long.assert_contains(r#"<p id="surname-error" class="error-message"><span class="visually-hidden">Error:</span> The surname must be 100 characters or fewer</p>"#);
    assert_eq!(
        app.count("select count(*) from users where email = 'new@cranbrook.example'")
            .await,
        0
    );
    // One name alone is a name.
    let single = app
        .post("/s/cranbrook/people/new", &form("", "Okonkwo"))
        .await;
    assert_eq!(single.status, StatusCode::SEE_OTHER, "{}", single.body);
    let name: (String, String) = sqlx::query_as(
        "select full_name, signing_name from users where email = 'new@cranbrook.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(name, ("Okonkwo".into(), "Okonkwo".into()));
}

#[tokio::test]
async fn people_already_there_keep_the_name_they_type_and_sort_by_its_last_word() {
    // A database as the release before the name parts left it.
    let server = server_url();
    let name = format!("aup_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!("create database {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let before = std::env::temp_dir().join(format!("aup-migrations-{name}"));
    std::fs::create_dir_all(&before).unwrap();
    for entry in std::fs::read_dir("migrations").unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if file.as_str() < "20261206090000" {
            std::fs::copy(&path, before.join(&file)).unwrap();
        }
    }
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    std::fs::remove_dir_all(&before).unwrap();
    sqlx::query(
        "insert into users (email, full_name) values
             ('a@x.example', 'Mary  Ann de Souza'), ('b@x.example', 'Madonna'),
             ('c@x.example', 'Ngozi O''Brien-Smith')",
    )
    .execute(&pool)
    .await
    .unwrap();
    aup_portal::db::migrate(&pool).await.unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "select signing_name, legal_forename, preferred_forename, surname from users order by email",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                "Mary  Ann de Souza".into(),
                "Mary Ann de".into(),
                "".into(),
                "Souza".into()
            ),
            ("Madonna".into(), "Madonna".into(), "".into(), "".into()),
            (
                "Ngozi O'Brien-Smith".into(),
                "Ngozi".into(),
                "".into(),
                "O'Brien-Smith".into()
            ),
        ]
    );
}
